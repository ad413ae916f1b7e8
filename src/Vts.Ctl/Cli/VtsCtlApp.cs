using System.Reflection;
using Spectre.Console.Cli;
using Vts.Ctl.Commands.Actor;
using Vts.Ctl.Commands.AutoCopy;
using Vts.Ctl.Commands.Cluster;
using Vts.Ctl.Commands.EventLog;
using Vts.Ctl.Commands.Journal;
using Vts.Ctl.Commands.License;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Cli;

/// <summary>vtsctl's palettes (docs/operations.md), laid out like Petabridge.Cmd's: PALETTE COMMAND [args].</summary>
public static class VtsCtlApp
{
    private const string Name = "vtsctl";

    public static async Task<int> RunAsync(string[] args)
    {
        Terminal.Configure();
        var app = new CommandApp();
        app.Configure(Configure);
        var (line, hasCommand) = GlobalOptions.MovedLast(args);
        try
        {
            // A line of nothing but global options ("vtsctl --json") gets the top-level help, not a complaint
            // about the options.
            var exitCode = await app.RunAsync(hasCommand ? line : []);
            // Our commands succeed with 0 or throw, so anything else is Spectre having shown help for a line with
            // no command in it ("vtsctl autocopy"); a line with no palette at all gets the same treatment.
            return exitCode != ExitCodes.Success || !hasCommand ? ExitCodes.Usage : exitCode;
        }
        catch (NodeCommandException ex)
        {
            return Fail(ex.ExitCode, ex.Message);
        }
        catch (CommandAppException ex)
        {
            // Spectre's parse and validation errors are all the operator's typing: usage, exit 2.
            return Fail(ExitCodes.Usage, $"{ex.Message}\nTry '{Name} --help'.");
        }
    }

    private static int Fail(int exitCode, string message)
    {
        Console.Error.WriteLine($"{Name}: {message}");
        return exitCode;
    }

    private static void Configure(IConfigurator config)
    {
        config.SetApplicationName(Name);
        config.SetApplicationVersion(typeof(VtsCtlApp).Assembly
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0-dev");
        // Without this Spectre prints its own error and returns -1; we want our own exit codes and messages (docs/operations.md).
        config.PropagateExceptions();
        // Otherwise Spectre silently ignores a mistyped option, and "--sate failed" would list every tape.
        config.Settings.StrictParsing = true;
        config.AddExample("cluster", "show");
        config.AddExample("--node", "10.1.2.3:7410", "--token", "s3cret", "autocopy", "tapes", "--state", "failed");
        config.AddExample("--json", "autocopy", "pools");

        config.AddBranch("cluster", cluster =>
        {
            cluster.SetDescription("The Akka.NET cluster the node belongs to.");
            cluster.AddCommand<ClusterShowCommand>("show")
                .WithDescription("Members, their status, roles and reachability; the leader.");
            cluster.AddCommand<ClusterLeaveCommand>("leave")
                .WithDescription("Ask a member to leave the cluster gracefully.")
                .WithExample("cluster", "leave", "akka.tcp://vts@10.1.2.4:4053");
            cluster.AddCommand<ClusterDownCommand>("down")
                .WithDescription("Mark an unreachable member as down.")
                .WithExample("cluster", "down", "akka.tcp://vts@10.1.2.4:4053");
        });

        config.AddBranch("actor", actor =>
        {
            actor.SetDescription("The node's actors.");
            actor.AddCommand<ActorHierarchyCommand>("hierarchy").WithDescription("The live actor tree of the node.");
        });

        config.AddBranch("autocopy", autocopy =>
        {
            autocopy.SetDescription("AutoCopy: pools, tapes and their copy state.");
            autocopy.AddCommand<AutoCopyPoolsCommand>("pools")
                .WithDescription("Each pool: target, target pool, tapes per copy state, tapes mounted.");
            autocopy.AddCommand<AutoCopyTapesCommand>("tapes")
                .WithDescription("Tapes with their copy state.")
                .WithExample("autocopy", "tapes", "--pool", "POOL1", "--state", "failed");
            autocopy.AddCommand<AutoCopyShowCommand>("show")
                .WithDescription("One tape: state, attempts, last error, next retry, last copy.")
                .WithExample("autocopy", "show", "POOL1", "A00001");
            autocopy.AddCommand<AutoCopyTargetsCommand>("targets")
                .WithDescription("Each target: transfers running and waiting, bandwidth limit now and where it comes from, throughput, progress.");
            autocopy.AddCommand<AutoCopyThrottleCommand>("throttle")
                .WithDescription("Change a target's bandwidth limit now, cluster-wide, for a while or until changed again.")
                .WithExample("autocopy", "throttle", "dr", "100Mbit/s", "--for", "2h")
                .WithExample("autocopy", "throttle", "dr", "configured");
            autocopy.AddCommand<AutoCopyRetryCommand>("retry")
                .WithDescription("Start a fresh series of attempts for a failed or held tape.")
                .WithExample("autocopy", "retry", "POOL1", "A00001");
            autocopy.AddCommand<AutoCopyReconcileCommand>("reconcile")
                .WithDescription("Compare a pool with its target pool; make a copy due for each tape missing there, of another size " +
                                 "or (--verify-content) of other content. Runs on the pool's node; survives restarts; --cancel ends it.")
                .WithExample("autocopy", "reconcile", "POOL1", "--dry-run")
                .WithExample("autocopy", "reconcile", "POOL1", "--verify-content", "--no-wait")
                .WithExample("autocopy", "reconcile", "POOL1", "--status")
                .WithExample("autocopy", "reconcile", "POOL1", "--cancel");
        });

        config.AddCommand<EventLogCommand>("eventlog")
            .WithDescription("The event log, newest last.")
            .WithExample("eventlog", "--tail", "200", "--since", "2026-11-24T10:00:00Z");

        config.AddBranch("journal", journal =>
        {
            journal.SetDescription("The persisted journal, read back.");
            journal.AddCommand<JournalIdsCommand>("ids").WithDescription("Every persistence id, one per line.");
            journal.AddCommand<JournalEventsCommand>("events")
                .WithDescription("One persistence id's events.")
                .WithExample("journal", "events", "tape-POOL1-A00001");
        });

        config.AddBranch("license", license =>
        {
            license.SetDescription("The cluster's license (AutoCopy and Instant DR).");
            license.AddCommand<LicenseShowCommand>("show").WithDescription("Site id, holder, features, expiry, and copies held for want of a key.");
            license.AddCommand<LicenseInstallCommand>("install")
                .WithDescription("Install a license key for the whole cluster; held copies start.")
                .WithExample("license", "install", "/etc/vts/license.key");
        });
    }
}
