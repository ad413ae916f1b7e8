using System.Globalization;

namespace Vts.Ctl.Commands.EventLog;

/// <summary>The ISO-8601 forms an operator types: a date, or a date and time with optional seconds, fraction
/// and offset. A time without an offset is UTC, as everything vtsctl prints is.</summary>
public static class IsoTime
{
    private static readonly string[] Formats =
    [
        "yyyy-MM-dd",
        "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
    ];

    public static DateTimeOffset? Parse(string text) =>
        DateTimeOffset.TryParseExact(text, Formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : null;
}
