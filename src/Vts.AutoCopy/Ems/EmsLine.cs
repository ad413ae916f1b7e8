using System.Text.Json;
using System.Text.RegularExpressions;
using Vts.AutoCopy.Domain;

namespace Vts.AutoCopy.Ems;

public enum EmsEventKind
{
    Mount,
    Dismount,

    /// <summary>R16: EMS 648 ACCEPTMOUNT, the request became a mount (usually counted from the request already).</summary>
    MountAccepted,

    /// <summary>R16: EMS 649 CANCELMOUNT, the host withdrew the request: the tape was never mounted.</summary>
    MountCancelled,

    /// <summary>R16: EMS 651 REJECTMOUNT, the request was refused: the tape was never mounted.</summary>
    MountRejected,
}

/// <summary>What one EMS input line says.</summary>
public abstract record EmsLine
{
    /// <param name="Pool">null for EMS text: the node finds the pool by locating the volser in its vault.</param>
    /// <param name="Id">null for EMS text, which carries no unique id.</param>
    public sealed record TapeEvent(string? Id, EmsEventKind Kind, PoolName? Pool, Volser Volser, MountMode? Mode, DateTimeOffset? Time) : EmsLine;

    /// <summary>A well-formed line about something AutoCopy does not act on.</summary>
    public sealed record NotForAutoCopy(string Why) : EmsLine;

    public sealed record Malformed(string? Id, string Error) : EmsLine;
}

/// <summary>Parses the two line forms of the EMS intake (docs/ems.md): JSON objects and $ZSVR EMS text.</summary>
public static partial class EmsLineParser
{
    public const int MaxIdLength = 64;

    public static EmsLine Parse(string line)
    {
        var text = line.Trim();
        if (text.Length == 0) return new EmsLine.Malformed(null, "empty line");
        if (text.Any(c => char.IsControl(c) && c != '\t') || text.Contains('\uFFFD'))
            return new EmsLine.Malformed(null, "line holds control characters or bytes that are not UTF-8");
        return text[0] == '{' ? ParseJson(text) : ParseText(text);
    }

    private static EmsLine ParseJson(string text)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 4 });
        }
        catch (JsonException e)
        {
            return new EmsLine.Malformed(null, $"malformed JSON: {Printable.Clip(e.Message, 120)}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return new EmsLine.Malformed(null, "a JSON line must be an object");

            string? Field(string name, out string? error)
            {
                error = null;
                if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
                if (v.ValueKind != JsonValueKind.String) { error = $"'{name}' must be a string"; return null; }
                return v.GetString();
            }

            var id = Field("id", out var err);
            if (err is not null) return new EmsLine.Malformed(null, err);
            if (string.IsNullOrEmpty(id)) return new EmsLine.Malformed(null, "'id' is required");
            if (id.Length > MaxIdLength) return new EmsLine.Malformed(null, $"'id' is longer than {MaxIdLength} characters");
            if (id.Any(c => c < ' ' || c > '~')) return new EmsLine.Malformed(null, "'id' must be printable ASCII");

            EmsLine Bad(string error) => new EmsLine.Malformed(id, error);

            var eventName = Field("event", out err);
            if (err is not null) return Bad(err);
            EmsEventKind kind;
            switch (eventName)
            {
                case "mount": kind = EmsEventKind.Mount; break;
                case "dismount": kind = EmsEventKind.Dismount; break;
                case "acceptmount": kind = EmsEventKind.MountAccepted; break;
                case "cancelmount": kind = EmsEventKind.MountCancelled; break;
                case "rejectmount": kind = EmsEventKind.MountRejected; break;
                case null: return Bad($"'event' is required ({JsonEvents})");
                default: return Bad($"unknown event '{Printable.Clip(eventName)}' ({JsonEvents})");
            }

            var poolText = Field("pool", out err);
            if (err is not null) return Bad(err);
            if (poolText is null) return Bad("'pool' is required");
            if (!PoolName.TryParse(poolText, out var pool, out err)) return Bad(err);

            var volserText = Field("volser", out err);
            if (err is not null) return Bad(err);
            if (volserText is null) return Bad("'volser' is required");
            if (!Volser.TryParse(volserText, out var volser, out err)) return Bad(err);

            var modeText = Field("mode", out err);
            if (err is not null) return Bad(err);
            MountMode? mode = null;
            if (kind == EmsEventKind.Mount)
            {
                mode = modeText switch
                {
                    "ring" => MountMode.Ring,
                    "noring" => MountMode.NoRing,
                    null => null,
                    _ => (MountMode?)null,
                };
                if (mode is null)
                    return Bad(modeText is null ? "'mode' is required for a mount (ring or noring)" : $"unknown mode '{Printable.Clip(modeText)}' (ring or noring)");
            }
            else if (modeText is not null)
            {
                return Bad("'mode' belongs to a mount, not a dismount");
            }

            var timeText = Field("time", out err);
            if (err is not null) return Bad(err);
            DateTimeOffset? time = null;
            if (timeText is not null)
            {
                if (!DateTimeOffset.TryParse(timeText, System.Globalization.CultureInfo.InvariantCulture,
                        System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed))
                    return Bad($"'time' is not an ISO-8601 time: '{Printable.Clip(timeText)}'");
                time = parsed;
            }

            return new EmsLine.TapeEvent(id, kind, pool, volser, mode, time);
        }
    }

    private const string JsonEvents = "mount, dismount, acceptmount, cancelmount or rejectmount";

    private static EmsLine ParseText(string text)
    {
        if (MountOutcome(text) is { } outcome) return outcome;
        var mount = MountRequest().Match(text);
        if (mount.Success)
        {
            var vid = mount.Groups["vid"].Value;
            if (!Volser.TryParse(vid, out var volser, out var error)) return new EmsLine.Malformed(null, error);
            var mode = mount.Groups["mode"].Value.StartsWith("WITH", StringComparison.OrdinalIgnoreCase) ? MountMode.Ring : MountMode.NoRing;
            return new EmsLine.TapeEvent(null, EmsEventKind.Mount, null, volser, mode, null);
        }
        var dismount = DismountStatus().Match(text);
        if (dismount.Success)
        {
            var vid = dismount.Groups["vid"].Value;
            if (!Volser.TryParse(vid, out var volser, out var error)) return new EmsLine.Malformed(null, error);
            return new EmsLine.TapeEvent(null, EmsEventKind.Dismount, null, volser, null, null);
        }
        if (text.Contains("$ZSVR", StringComparison.Ordinal) || text.Contains("STATUS", StringComparison.Ordinal))
            return new EmsLine.NotForAutoCopy("not a mount or dismount event");
        return new EmsLine.Malformed(null, "neither a JSON event nor a $ZSVR EMS event");
    }

    /// <summary>R16: what became of a mount request (ZTAP 648, 649, 651) or an unknown tape's request (608). Their texts
    /// vary by release, so two forms are taken: the event's name as the message's first word
    /// (<c>$ZSVR: 0048 CANCELMOUNT A00001 …</c>), or its number as a word of the prefix the distributor adds
    /// (<c>… 000649 … $ZSVR: 0048 …</c>) with the tape named in the text after MOUNT (and its label kind and SCRATCH
    /// TAPE), TAPE or VOLUME. Null for any other line.</summary>
    private static EmsLine? MountOutcome(string text)
    {
        string? name = null, vid = null;
        if (NamedOutcome().Match(text) is { Success: true } named)
            (name, vid) = (named.Groups["name"].Value, named.Groups["vid"].Value);
        else if (NumberedOutcome().Match(text) is { Success: true } numbered)
        {
            name = numbered.Groups["event"].Value switch { "648" => "ACCEPTMOUNT", "649" => "CANCELMOUNT", "651" => "REJECTMOUNT", _ => "REQUNKNOWN" };
            vid = TapeIn(numbered.Groups["text"].Value);
            if (vid is null)
                return new EmsLine.Malformed(null, $"EMS {numbered.Groups["event"].Value} names no tape (expected MOUNT <vid>, TAPE <vid> or VOLUME <vid>)");
        }
        if (name is null) return null;
        if (name == "REQUNKNOWN") return new EmsLine.NotForAutoCopy("608 REQUNKNOWN: asks the operator about an unknown tape");
        if (!Volser.TryParse(vid, out var volser, out var error)) return new EmsLine.Malformed(null, error);
        var kind = name switch
        {
            "ACCEPTMOUNT" => EmsEventKind.MountAccepted,
            "CANCELMOUNT" => EmsEventKind.MountCancelled,
            _ => EmsEventKind.MountRejected,
        };
        return new EmsLine.TapeEvent(null, kind, null, volser, null, null);
    }

    /// <summary>Words that read like a volser after MOUNT, TAPE or VOLUME but are the message's own ("MOUNT OF TAPE …").</summary>
    private static readonly HashSet<string> NotAVolser =
        ["OF", "FOR", "ON", "THE", "A", "AN", "TO", "IS", "WAS", "BY", "REQUEST", "TAPE", "VOLUME", "MOUNT", "IBM", "TMF", "ANSI",
         "LABEL", "REEL", "DRIVE", "NOT", "NO", "WITH", "RING", "SCRATCH"];

    [GeneratedRegex(@"\$ZSVR:\s*\d+\s+(?<name>ACCEPTMOUNT|CANCELMOUNT|REJECTMOUNT|REQUNKNOWN)\s+(?<vid>[^\s,;]+)", RegexOptions.CultureInvariant)]
    private static partial Regex NamedOutcome();

    [GeneratedRegex(@"(?:^|\s)0*(?<event>648|649|651|608)\s(?:.*\s)?\$ZSVR:\s*\d+\s+(?<text>.*)$", RegexOptions.CultureInvariant)]
    private static partial Regex NumberedOutcome();

/// <summary>The tape a message names: the first word after MOUNT, TAPE or VOLUME that is not one of the message's own
    /// words ("MOUNT REQUEST FOR A00001", "MOUNT OF TAPE A00001", "MOUNT IBM SCRATCH TAPE A00001").</summary>
    private static string? TapeIn(string text)
    {
        var words = text.Split([' ', '\t', ',', ';', '.'], StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < words.Length; i++)
        {
            if (words[i] is not ("MOUNT" or "TAPE" or "VOLUME")) continue;
            var j = i + 1;
            while (j < words.Length && NotAVolser.Contains(words[j])) j++;
            if (j < words.Length && Volser.TryParse(words[j], out _, out _)) return words[j];
        }
        return null;
    }

    // $ZSVR: <seq> MOUNT [IBM|TMF] [SCRATCH TAPE] <vid> [REEL n] [DENSITY d] [ON $dev] WITH RING|NO RING [comment]
    // (ZTAP events 600, 601, 603, 604, 605, 609); an optional prefix (date, time, system, process) may precede it.
    [GeneratedRegex(@"\$ZSVR:\s*\d+\s+MOUNT\s+(?:(?:IBM|TMF)\s+)?(?:SCRATCH\s+TAPE\s+)?(?<vid>\S+)(?:\s+REEL\s+\d+)?(?:\s+DENSITY\s+\d+)?(?:\s+ON\s+\$\S+)?\s+(?<mode>WITH\s+RING|NO\s+RING)(?:\s.*)?$", RegexOptions.CultureInvariant)]
    private static partial Regex MountRequest();

    // STATUS 1512 - <vid> TAPE DISMOUNTED FROM DRIVE $dev (ZTAP event 659).
    [GeneratedRegex(@"STATUS\s+\d+\s+-\s+(?<vid>\S+)\s+TAPE\s+DISMOUNTED\s+FROM\s+DRIVE\s+\$\S+", RegexOptions.CultureInvariant)]
    private static partial Regex DismountStatus();
}
