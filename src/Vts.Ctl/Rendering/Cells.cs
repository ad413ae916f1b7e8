using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;
using Vts.Admin.Contracts;

namespace Vts.Ctl.Rendering;

/// <summary>How values read in vtsctl's tables. Everything from the node goes through <see cref="Text"/>,
/// never markup, so a '[' in an error message or actor name cannot break the rendering.</summary>
public static class Cells
{
    public const string None = "-";
    private const int ErrorWidth = 60;

    /// <summary>A column whose values are short and must stay on one line (names, times, counts); the free-text
    /// columns take the wrapping.</summary>
    public static TableColumn Fixed(string header) => new TableColumn(header).NoWrap();

    public static TableColumn Count(string header) => new TableColumn(header).NoWrap().RightAligned();

    public static Text Plain(string? value) => new(string.IsNullOrEmpty(value) ? None : value);

    public static Text Styled(string? value, Style style) => new(string.IsNullOrEmpty(value) ? None : value, style);

    public static Text Number(long value) => new(value.ToString("N0", CultureInfo.InvariantCulture));

    // Operators compare these with logs from several machines, so always UTC and one fixed layout.
    public static string Time(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : None;

    public static string Truncated(string? text) =>
        text is null ? None
        : text.Length <= ErrorWidth ? text
        : text[..(ErrorWidth - 1)] + "…";

    public static Text State(string state) => Styled(state, state switch
    {
        CopyStates.Failed => new Style(Color.Red),
        CopyStates.WaitingToRetry => new Style(Color.Yellow),
        CopyStates.Copying => new Style(Color.Green),
        _ => Style.Plain,
    });

    public static Text YesNo(bool value) =>
        value ? new Text("yes", new Style(Color.Green)) : new Text("no", new Style(Color.Red));

    // One line per value, quotes and non-ASCII left as they are rather than \uXXXX.
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string CompactJson(JsonElement value) => JsonSerializer.Serialize(value, Compact);

    public static string MiB(long bytes) =>
        (bytes / 1024d / 1024d).ToString("N2", CultureInfo.InvariantCulture) + " MiB";

    public static string Rate(long bytesPerSecond) =>
        (bytesPerSecond / 1024d / 1024d).ToString("N1", CultureInfo.InvariantCulture) + " MiB/s";

    public static string Duration(double? seconds) => seconds switch
    {
        null => None,
        >= 3600 and var s => $"{(int)(s / 3600)} h {(int)(s % 3600 / 60)} min",
        >= 60 and var s => $"{(int)(s / 60)} min {(int)(s % 60)} s",
        var s => $"{(int)s} s",
    };
}
