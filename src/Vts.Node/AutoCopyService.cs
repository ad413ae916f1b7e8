using Akka.Actor;
using Akka.Pattern;
using Akka.Cluster;
using Akka.Cluster.Tools.Singleton;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vts.AutoCopy.Cluster;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Ems;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.Licensing;
using Vts.AutoCopy.Persistence;
using Vts.AutoCopy.SecureVts;
using Vts.AutoCopy.Transport;

namespace Vts.Node;

/// <summary>What the admin API needs of a running node.</summary>
/// <param name="Targets">lists target pools in bulk (reconcile), over the copies' own pinned SSH sessions.</param>
public sealed record NodeRuntime(ActorSystem System, VtsSettings Settings, IActorRef Pools, IActorRef Gate, IActorRef EventLog,
    Vts.AutoCopy.Reconcile.ITargetListing Targets);

/// <summary>The <c>akka.cluster.seed-nodes</c> of the configuration; none: a cluster of one.</summary>
public sealed record ClusterSeeds(IReadOnlyList<Address> Addresses);

/// <summary>The cluster would not have this node: its shared configuration differs (docs/cluster.md). Exit code 2.</summary>
public sealed class NodeRefusedException(string message) : Exception(message);

/// <summary>Brings a source node up in order: cluster membership, the check that it runs the cluster's configuration,
/// the copy engine (the cluster's transfer gate and event log, the pool shards), then the EMS port — events are only
/// taken once there is something to journal them.</summary>
public sealed class AutoCopyService(ActorSystem system, VtsSettings settings, ClusterSeeds seeds, IServer server,
    IHostApplicationLifetime lifetime, ILogger<AutoCopyService> log) : IHostedService
{
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan PoolStartTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);
    /// <summary>A seed node not running yet never answers, and every node of a cluster started at once waits this long
    /// for it; one running but too busy to answer in time is compared after the join instead.</summary>
    private static readonly TimeSpan SeedAskTimeout = TimeSpan.FromSeconds(1);
    /// <summary>An ask that reached a pool being handed over is lost: asked again this soon.</summary>
    private static readonly TimeSpan PoolAskTimeout = TimeSpan.FromSeconds(1);
    /// <summary>How long a transfer gate that took over from another listens before granting (see TransferGate).
    /// Running transfers tell the new gate as soon as their node removes the old gate's node, and proxies find a new
    /// singleton within a quarter second (akka.cluster.singleton-proxy.singleton-identification-interval).</summary>
    private static readonly TimeSpan GateHandOverGrace = TimeSpan.FromSeconds(1);
    private readonly TaskCompletionSource<NodeRuntime> _runtime = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private EmsIntakeServer? _intake;

    /// <summary>Completes once the engine runs; the admin API waits on it rather than answering half-started.</summary>
    public Task<NodeRuntime> Runtime => _runtime.Task;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var cluster = Cluster.Get(system);
        var shared = SharedConfiguration.Flatten(system.Settings.Config);
        system.ActorOf(SharedConfiguration.Props(settings.NodeName, shared), SharedConfiguration.Name);
        var up = new TaskCompletionSource();
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        var alone = seeds.Addresses.Count == 0;
        var otherSeeds = seeds.Addresses.Where(a => !a.Equals(cluster.SelfAddress)).ToList();
        var downed = !alone && DownedMarker.IsIn(settings.StateDir);
        if (alone)
        {
            cluster.Join(cluster.SelfAddress); // no seed nodes: a one-node cluster of its own
        }
        else
        {
            // Asked before joining, so a node the cluster would refuse never becomes a member, not even for a moment.
            await RefuseIfConfigurationDiffers(shared, otherSeeds, SeedAskTimeout);
            if (downed)
            {
                if (otherSeeds.Count == 0)
                    throw new NodeRefusedException($"this node was downed by its cluster, and akka.cluster.seed-nodes names no other node to " +
                        $"rejoin through: list the other nodes there too, or delete {DownedMarker.PathIn(settings.StateDir)} if this node " +
                        "is to start a new cluster on its own");
                log.LogWarning("this node was downed by its cluster ({Marker}): it joins only the cluster its other seed nodes " +
                               "({Others}) run, waiting for as long as they cannot be reached, and never starts one of its own",
                    DownedMarker.PathIn(settings.StateDir), string.Join(", ", otherSeeds));
            }
            // The first seed node starts a cluster when no other seed answers; without itself in the list it only joins.
            cluster.JoinSeedNodes(downed ? otherSeeds : seeds.Addresses);
        }
        await (downed ? up.Task.WaitAsync(cancellationToken) : up.Task.WaitAsync(JoinTimeout, cancellationToken));
        if (downed) DownedMarker.Remove(settings.StateDir);
        // Members that are not seed nodes, and seed nodes that were not up a moment ago.
        var others = cluster.State.Members.Where(m => m.Status == MemberStatus.Up && !m.Address.Equals(cluster.SelfAddress));
        await RefuseIfConfigurationDiffers(shared, others.Select(m => m.Address), AskTimeout, leave: cluster);

        // A persistent actor stops when its journal fails (PostgreSQL restarting, say), and a stopped singleton is not
        // started again until it moves: the event log runs under a supervisor that starts it again, backing off.
        var eventLog = Singleton("event-log", BackoffSupervisor.Props(Backoff.OnStop(EventLogActor.Props(), "log",
            TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0.2, maxNrOfRetries: -1)));
        var gate = Singleton("transfer-gate",
            TransferGate.Props(settings.AutoCopy.MaxConcurrentTransfers, alone ? TimeSpan.Zero : GateHandOverGrace,
                settings.AutoCopy.Targets.ToDictionary(t => t.Key, t => t.Value.Bandwidth), TimeProvider.System,
                settings.License, eventLog, settings.NodeName));
        var readJournal = PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(PersistenceConfig.ReadJournalPluginId);
        system.ActorOf(EventLogFile.Props(settings.StateDir,
            from => readJournal.EventsByPersistenceId(EventLogActor.PersistenceIdValue, from, long.MaxValue)), "event-log-file");

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var transport = new SftpTapeTransport(keys: new TapeKeyCheck(settings.SecureVts, TimeProvider.System));
        var engine = new CopyEngineContext(settings.NodeName, settings.VaultRoot, settings.AutoCopy, transport, gate, eventLog)
        {
            Started = started.Task,
            Listing = transport,
        };
        var pools = await PoolSharding.StartAsync(system, engine);
        // Every pool placed and recovered before the EMS port opens, wherever it lives: the first events are then
        // acknowledged at the journal's pace, not after the shard allocations of a cold start. Asking also starts a
        // pool that no shard remembered, so a due copy never waits for a new event.
        await Task.WhenAll(settings.AutoCopy.Pools.Keys.Select(pool => StartedPool(pools, pool, cancellationToken)));

        _intake = new EmsIntakeServer(settings.Ems, settings.AutoCopy.Pools.Keys.ToHashSet(), pools,
            new VaultLocator(settings.VaultRoot), log);
        _intake.Start();
        if (LicenseKey.TrustsTestIssuer)
            log.LogWarning("license keys are checked against the source repository's TEST issuer, whose private key is public: " +
                           "not a release build (README, \"License\": LicenseIssuerPublicKey)");
        started.TrySetResult();
        _runtime.TrySetResult(new NodeRuntime(system, settings, pools, gate, eventLog, transport));
        // The journal has its tables and this node's history now: from here on, a journal gone missing is an error.
        await Journal.RememberAsync(settings.Journal, settings.StateDir, cancellationToken);
        eventLog.Tell(new EventLogEntry(DateTimeOffset.UtcNow, Severity.Info, MessageIds.NodeStarted, settings.NodeName, null, null,
            $"node started; EMS on {_intake.LocalEndpoint}; {settings.AutoCopy.Pools.Count} pools monitored; " +
            $"cluster of {cluster.State.Members.Count(m => m.Status == MemberStatus.Up)}"));

        // The admin port is bound once the web server has started, after the hosted services.
        lifetime.ApplicationStarted.Register(() =>
        {
            var admin = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "?";
            // One stable line on stdout for operators and tests to know the node is taking events.
            Console.Out.WriteLine($"vts-node {settings.NodeName} ready: EMS on {_intake.LocalEndpoint} admin on {admin}");
            Console.Out.Flush();
        });
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_intake is not null) await _intake.DisposeAsync();
    }

    /// <summary>One instance in the cluster, on its oldest node; every node talks to it through a proxy that holds
    /// messages while it moves.</summary>
    private IActorRef Singleton(string name, Props props)
    {
        system.ActorOf(ClusterSingletonManager.Props(props, PoisonPill.Instance, ClusterSingletonManagerSettings.Create(system)), name);
        return system.ActorOf(ClusterSingletonProxy.Props($"/user/{name}", ClusterSingletonProxySettings.Create(system)), $"{name}-proxy");
    }

    /// <summary>Asks until the pool answers: while nodes join, sharding moves pools to them, and a message that reaches
    /// a pool being handed over is dropped, not delivered late.</summary>
    private static async Task StartedPool(IActorRef pools, Vts.AutoCopy.Domain.PoolName pool, CancellationToken cancellation)
    {
        var deadline = DateTime.UtcNow + PoolStartTimeout;
        while (true)
        {
            try
            {
                await pools.Ask<PoolSummary>(new GetPoolSummary(pool), PoolAskTimeout, cancellation);
                return;
            }
            catch (AskTimeoutException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }

    /// <summary>Before this node takes any work: every node asked must run the same shared configuration. If one does
    /// not, this node stops (leaving the cluster first if it had joined), naming each difference. A node that does not
    /// answer is not compared: it may not be running yet.</summary>
    private async Task RefuseIfConfigurationDiffers(IReadOnlyDictionary<string, string> mine, IEnumerable<Address> nodes,
        TimeSpan timeout, Cluster? leave = null)
    {
        var answers = await Task.WhenAll(nodes.Select(async address =>
        {
            try
            {
                var path = new RootActorPath(address) / "user" / SharedConfiguration.Name;
                return await system.ActorSelection(path).Ask<SharedSettings>(new GetSharedSettings(), timeout);
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                log.LogInformation("node {Node} did not say what configuration it runs (not running yet?); not compared", address);
                return null;
            }
        }));
        var differences = answers.OfType<SharedSettings>().SelectMany(theirs => SharedConfiguration.Differences(mine, theirs)).Distinct().ToList();
        if (differences.Count == 0) return;
        if (leave is not null) await leave.LeaveAsync(new CancellationTokenSource(AskTimeout).Token).ContinueWith(_ => { });
        throw new NodeRefusedException(
            $"this node's configuration differs from the cluster's (every node must run the same vts.autocopy, vts.securevts and vts.license): {string.Join("; ", differences)}");
    }
}
