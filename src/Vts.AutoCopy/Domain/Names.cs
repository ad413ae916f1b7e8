using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Vts.AutoCopy.Domain;

/// <summary>A tape's volume serial: 1–6 of A–Z 0–9. Anything else (lower case, '/', "..") is refused,
/// which is also what keeps a volser from ever naming a path outside its pool folder.</summary>
[JsonConverter(typeof(VolserJson))]
public sealed partial record Volser
{
    public string Value { get; }

    private Volser(string value) => Value = value;

    public static Volser Parse(string? text) =>
        TryParse(text, out var volser, out var error) ? volser : throw new FormatException(error);

    public static bool TryParse(string? text, out Volser volser, out string error)
    {
        volser = null!;
        if (text is null || !Pattern().IsMatch(text))
        {
            error = $"invalid volser '{Printable.Clip(text)}': 1-6 characters of A-Z 0-9";
            return false;
        }
        volser = new Volser(text);
        error = "";
        return true;
    }

    public override string ToString() => Value;

    [GeneratedRegex("^[A-Z0-9]{1,6}$")]
    private static partial Regex Pattern();
}

/// <summary>A pool name: 1–32 of A–Z a–z 0–9 _ -.</summary>
[JsonConverter(typeof(PoolNameJson))]
public sealed partial record PoolName
{
    public string Value { get; }

    private PoolName(string value) => Value = value;

    public static PoolName Parse(string? text) =>
        TryParse(text, out var pool, out var error) ? pool : throw new FormatException(error);

    public static bool TryParse(string? text, out PoolName pool, out string error)
    {
        pool = null!;
        if (text is null || !Pattern().IsMatch(text))
        {
            error = $"invalid pool name '{Printable.Clip(text)}': 1-32 characters of A-Z a-z 0-9 _ -";
            return false;
        }
        pool = new PoolName(text);
        error = "";
        return true;
    }

    public override string ToString() => Value;

    [GeneratedRegex("^[A-Za-z0-9_-]{1,32}$")]
    private static partial Regex Pattern();
}

/// <summary>The name of a recipient VTS system as configured under vts.autocopy.targets.</summary>
[JsonConverter(typeof(TargetNameJson))]
public sealed partial record TargetName
{
    public string Value { get; }

    private TargetName(string value) => Value = value;

    public static TargetName Parse(string? text)
    {
        if (text is null || !Pattern().IsMatch(text))
            throw new FormatException($"invalid target name '{Printable.Clip(text)}': 1-32 characters of A-Z a-z 0-9 _ -");
        return new TargetName(text);
    }

    public override string ToString() => Value;

    [GeneratedRegex("^[A-Za-z0-9_-]{1,32}$")]
    private static partial Regex Pattern();
}

/// <summary>How a tape was mounted: "With Ring" is read/write, "No Ring" is read only.</summary>
public enum MountMode
{
    Ring,
    NoRing,
}

/// <summary>Keeps hostile input out of error messages and logs: short, and printable.</summary>
public static class Printable
{
    public static string Clip(string? text, int max = 40)
    {
        if (text is null) return "(missing)";
        var chars = text.Take(max).Select(c => char.IsControl(c) || c > '~' ? '?' : c).ToArray();
        return new string(chars) + (text.Length > max ? "…" : "");
    }
}

/// <summary>Domain names cross nodes and reach the journal as their plain text, and are parsed again on the way in:
/// a name read from another node or an old journal is validated exactly as one read from EMS.</summary>
public abstract class NameJson<T>(Func<string?, T> parse, Func<T, string> text) : JsonConverter<T>
{
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        try
        {
            return parse(reader.GetString());
        }
        catch (FormatException e)
        {
            throw new JsonException(e.Message, e);
        }
    }

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(text(value));
}

public sealed class VolserJson() : NameJson<Volser>(Volser.Parse, v => v.Value);

public sealed class PoolNameJson() : NameJson<PoolName>(PoolName.Parse, p => p.Value);

public sealed class TargetNameJson() : NameJson<TargetName>(TargetName.Parse, t => t.Value);
