using System.ComponentModel;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;
using Vts.Admin.Contracts;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands.Journal;

public sealed class JournalEventsCommand : NodeCommand<JournalEventsCommand.Settings>
{
    public sealed class Settings : NodeSettings
    {
        [CommandArgument(0, "<PERSISTENCE-ID>")]
        [Description("As `journal ids` lists it.")]
        public required string PersistenceId { get; init; }
    }

    protected override async Task RunAsync(NodeClient node, Output output, Settings settings, CancellationToken ct) =>
        output.Show(await node.GetAsync<JournalEventView[]>(AdminApi.JournalEvents(settings.PersistenceId), ct), Render);

    private static IRenderable Render(JournalEventView[] events)
    {
        var table = new Table().AddColumns(
            Cells.Count("Seq"), Cells.Fixed("Timestamp (UTC)"), Cells.Fixed("Manifest"), new TableColumn("Event"));
        foreach (var e in events)
        {
            table.AddRow(
                Cells.Plain(e.SequenceNr.ToString(CultureInfo.InvariantCulture)),
                Cells.Plain(Cells.Time(e.Timestamp)),
                Cells.Plain(e.Manifest),
                Cells.Plain(Cells.CompactJson(e.Event)));
        }
        return table;
    }
}
