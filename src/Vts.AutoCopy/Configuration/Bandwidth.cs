using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;
using Vts.AutoCopy.Domain;

namespace Vts.AutoCopy.Configuration;

/// <summary>A transfer rate as operators write it: <c>200MiB/s</c>, <c>400Mbit/s</c>, <c>50MB/s</c>, or
/// <c>unlimited</c>. Held as bytes per second; null is unlimited.</summary>
public static partial class Rate
{
    /// <summary>Below this a transfer's share would move too little per read to show progress: 1 Mbit/s.</summary>
    public const long Slowest = 125_000;

    /// <summary>Faster than any link we could meet (1 Tbit/s): a larger figure is a typo.</summary>
    public const long Fastest = 125_000_000_000;

    private static readonly Dictionary<string, double> BytesPer = new(StringComparer.Ordinal)
    {
        ["B"] = 1,
        ["kB"] = 1e3, ["KB"] = 1e3, ["KiB"] = 1024,
        ["MB"] = 1e6, ["MiB"] = 1024 * 1024,
        ["GB"] = 1e9, ["GiB"] = 1024 * 1024 * 1024,
        ["kbit"] = 1e3 / 8, ["Kbit"] = 1e3 / 8, ["Mbit"] = 1e6 / 8, ["Gbit"] = 1e9 / 8,
    };

    [GeneratedRegex(@"^(?<n>[0-9]{1,9}(\.[0-9]{1,3})?)\s?(?<unit>[A-Za-z]{1,4})/s$")]
    private static partial Regex Written();

    /// <param name="bytesPerSecond">null for unlimited.</param>
    public static bool TryParse(string? text, out long? bytesPerSecond, out string error)
    {
        bytesPerSecond = null;
        error = "";
        var trimmed = text?.Trim() ?? "";
        if (trimmed == "unlimited") return true;
        var match = Written().Match(trimmed);
        if (!match.Success || !BytesPer.TryGetValue(match.Groups["unit"].Value, out var unit))
        {
            error = $"'{Printable.Clip(trimmed)}' is not a rate (e.g. 200MiB/s, 400Mbit/s, or unlimited)";
            return false;
        }
        var bytes = double.Parse(match.Groups["n"].Value, CultureInfo.InvariantCulture) * unit;
        if (bytes is < Slowest or > Fastest)
        {
            error = $"'{trimmed}' is outside {Format(Slowest)} to {Format(Fastest)}";
            return false;
        }
        bytesPerSecond = (long)bytes;
        return true;
    }

    /// <summary>Bits per second, as links are sold: <c>400 Mbit/s</c>; null is <c>unlimited</c>.</summary>
    public static string Format(long? bytesPerSecond) => bytesPerSecond switch
    {
        null => "unlimited",
        >= 125_000_000 and var b => $"{b * 8 / 1e9:0.##} Gbit/s",
        >= 125_000 and var b => $"{b * 8 / 1e6:0.##} Mbit/s",
        var b => $"{b * 8 / 1e3:0.##} kbit/s",
    };
}

/// <summary>One line of a bandwidth schedule: on <paramref name="Days"/>, from <paramref name="From"/> to
/// <paramref name="To"/> (minutes since midnight, node time), the limit is <paramref name="Limit"/>. A window whose end is
/// not after its start runs over midnight into the next day; <see cref="Days"/> name the day it starts on.</summary>
/// <param name="Days">bit <c>1 &lt;&lt; (int)DayOfWeek</c> per day.</param>
/// <param name="Text">as written, for operators: <c>Mon-Fri 07:00-19:00</c>.</param>
public sealed record BandwidthWindow(int Days, int From, int To, long? Limit, string Text)
{
    private const int EveryDay = 0x7F;
    private static readonly string[] DayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

    public bool Covers(DateTime local)
    {
        var minute = local.Hour * 60 + local.Minute;
        var today = (int)local.DayOfWeek;
        var yesterday = (today + 6) % 7;
        return From < To
            ? On(today) && minute >= From && minute < To
            : (On(today) && minute >= From) || (On(yesterday) && minute < To);
    }

    private bool On(int day) => (Days & (1 << day)) != 0;

    /// <summary>Reads <c>{ days = "Mon-Fri", from = "07:00", to = "19:00", limit = 50MiB/s }</c>; days may be left out
    /// (every day), listed (<c>Sat,Sun</c>) or ranged, also across the week's end (<c>Fri-Mon</c>).</summary>
    public static BandwidthWindow Parse(string? days, string? from, string? to, string? limit, string where)
    {
        var dayBits = days is null ? EveryDay : ParseDays(days, where);
        var start = ParseTime(from, $"{where}.from", allowEndOfDay: false);
        var end = ParseTime(to, $"{where}.to", allowEndOfDay: true);
        if (start == end)
            throw new ConfigurationInvalidException($"{where}: from and to are both {from}; a whole day is from = \"00:00\", to = \"24:00\"");
        if (limit is null) throw new ConfigurationInvalidException($"{where}.limit is required");
        if (!Rate.TryParse(limit, out var rate, out var error)) throw new ConfigurationInvalidException($"{where}.limit: {error}");
        return new BandwidthWindow(dayBits, start, end, rate, $"{days ?? "every day"} {from}-{to}");
    }

    private static int ParseDays(string text, string where)
    {
        var bits = 0;
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var ends = part.Split('-', StringSplitOptions.TrimEntries);
            if (ends.Length is < 1 or > 2 || ends.Any(e => Day(e) < 0))
                throw new ConfigurationInvalidException(
                    $"{where}.days: '{Printable.Clip(text)}' is not a list of days or day ranges (e.g. \"Mon-Fri\", \"Sat,Sun\")");
            var (first, last) = (Day(ends[0]), Day(ends[^1]));
            for (var d = first; ; d = (d + 1) % 7)
            {
                bits |= 1 << d;
                if (d == last) break;
            }
        }
        return bits;
    }

    private static int Day(string name) =>
        Array.FindIndex(DayNames, d => string.Equals(d, name, StringComparison.OrdinalIgnoreCase));

    private static int ParseTime(string? text, string where, bool allowEndOfDay)
    {
        if (text is null) throw new ConfigurationInvalidException($"{where} is required (HH:MM)");
        if (allowEndOfDay && text == "24:00") return 24 * 60;
        if (text.Length != 5 || !TimeOnly.TryParseExact(text, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
            throw new ConfigurationInvalidException($"{where}: '{Printable.Clip(text)}' is not a time of day (HH:MM, 00:00 to {(allowEndOfDay ? "24:00" : "23:59")})");
        return time.Hour * 60 + time.Minute;
    }
}

/// <summary>The limit in force and why: operators ask "why is it slow" and need the answer in one line.</summary>
/// <param name="Limit">bytes per second; null is unlimited.</param>
/// <param name="Source">"configuration", "schedule Mon-Fri 07:00-19:00", "override until …".</param>
public sealed record LimitNow(long? Limit, string Source);

/// <summary>A target's <c>bandwidth { limit, schedule }</c> (docs/configuration.md): the first schedule window that covers the
/// time wins, else the limit. Held over the whole cluster by the transfer gate.</summary>
public sealed record BandwidthSettings(long? Limit, ImmutableArray<BandwidthWindow> Schedule)
{
    public static readonly BandwidthSettings Unlimited = new(null, []);

    public LimitNow At(DateTime local)
    {
        foreach (var window in Schedule)
            if (window.Covers(local)) return new LimitNow(window.Limit, $"schedule {window.Text}");
        return new LimitNow(Limit, "configuration");
    }
}
