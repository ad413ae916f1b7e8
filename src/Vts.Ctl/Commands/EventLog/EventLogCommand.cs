using System.ComponentModel;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;
using Vts.Admin.Contracts;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands.EventLog;

public sealed class EventLogCommand : NodeCommand<EventLogCommand.Settings>
{
    public sealed class Settings : NodeSettings
    {
        // Strings, not int/DateTimeOffset, so a bad value gets our usage message rather than a converter's.
        [CommandOption("--tail <N>")]
        [Description("The last N entries (default 50).")]
        public string? Tail { get; init; }

        [CommandOption("--since <TIME>")]
        [Description("Only entries at or after TIME, ISO-8601 (2026-11-24T10:00:00Z); UTC unless it has an offset.")]
        public string? Since { get; init; }

        public int TailCount => Tail is null ? 50 : int.Parse(Tail, NumberStyles.None, CultureInfo.InvariantCulture);

        public DateTimeOffset? SinceTime => Since is null ? null : IsoTime.Parse(Since);

        public override ValidationResult Validate()
        {
            if (Tail is not null && (!int.TryParse(Tail, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1))
                return ValidationResult.Error($"--tail: '{Tail}' is not a positive whole number");
            if (Since is not null && IsoTime.Parse(Since) is null)
                return ValidationResult.Error($"--since: '{Since}' is not an ISO-8601 time (2026-11-24T10:00:00Z)");
            return base.Validate();
        }
    }

    protected override async Task RunAsync(NodeClient node, Output output, Settings settings, CancellationToken ct) =>
        output.Show(await node.GetAsync<EventLogView[]>(Query(settings), ct), Render);

    private static string Query(Settings settings)
    {
        var query = $"{AdminApi.EventLog}?tail={settings.TailCount.ToString(CultureInfo.InvariantCulture)}";
        return settings.SinceTime is { } since
            ? query + "&since=" + Uri.EscapeDataString(since.UtcDateTime.ToString("O", CultureInfo.InvariantCulture))
            : query;
    }

    private static IRenderable Render(EventLogView[] entries)
    {
        var table = new Table().AddColumns(
            Cells.Fixed("Time (UTC)"), Cells.Fixed("Severity"), Cells.Fixed("Id"), Cells.Fixed("Pool/Volser"), new TableColumn("Text"));
        foreach (var entry in entries)
        {
            table.AddRow(
                Cells.Plain(Cells.Time(entry.Time)),
                Cells.Styled(entry.Severity, Severity(entry.Severity)),
                Cells.Plain(entry.MessageId.ToString("D6", CultureInfo.InvariantCulture)),
                Cells.Plain(string.Join('/', new[] { entry.Pool, entry.Volser }.OfType<string>())),
                Cells.Plain(entry.Text));
        }
        return table;
    }

    private static Style Severity(string severity) => severity.ToLowerInvariant() switch
    {
        "warning" => new Style(Color.Yellow),
        "error" => new Style(Color.Red),
        "critical" => new Style(Color.Red, decoration: Decoration.Bold),
        _ => Style.Plain,
    };
}
