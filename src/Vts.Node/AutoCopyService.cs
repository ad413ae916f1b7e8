using Akka.Actor;
using Akka.Cluster;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Ems;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.Transport;

namespace Vts.Node;

/// <summary>What the admin API needs of a running node.</summary>
public sealed record NodeRuntime(ActorSystem System, VtsSettings Settings, IActorRef Pools, IActorRef Gate, IActorRef EventLog);

/// <summary>Brings a source node up in order: cluster membership, the copy engine (gate, event log, pool shards),
/// then the EMS port — events are only taken once there is something to journal them.</summary>
public sealed class AutoCopyService(ActorSystem system, VtsSettings settings, IServer server, IHostApplicationLifetime lifetime,
    ILogger<AutoCopyService> log) : IHostedService
{
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan PoolStartTimeout = TimeSpan.FromMinutes(5);
    private readonly TaskCompletionSource<NodeRuntime> _runtime = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private EmsIntakeServer? _intake;

    /// <summary>Completes once the engine runs; the admin API waits on it rather than answering half-started.</summary>
    public Task<NodeRuntime> Runtime => _runtime.Task;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var cluster = Cluster.Get(system);
        var up = new TaskCompletionSource();
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        if (system.Settings.Config.GetStringList("akka.cluster.seed-nodes").Count == 0)
            cluster.Join(cluster.SelfAddress); // no seed nodes: a one-node cluster of its own
        await up.Task.WaitAsync(JoinTimeout, cancellationToken);

        var gate = system.ActorOf(TransferGate.Props(settings.AutoCopy.MaxConcurrentTransfers), "transfer-gate");
        var eventLog = system.ActorOf(EventLogActor.Props(settings.NodeName, settings.StateDir), "event-log");
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var engine = new CopyEngineContext(settings.NodeName, settings.VaultRoot, settings.AutoCopy, new SftpTapeTransport(), gate, eventLog)
        {
            Started = started.Task,
        };
        var pools = await PoolSharding.StartAsync(system, engine);
        // Every pool placed and recovered before the EMS port opens: the first events are then acknowledged at the
        // journal's pace, not after the shard allocations of a cold start.
        await Task.WhenAll(settings.AutoCopy.Pools.Keys.Select(pool => pools.Ask<PoolSummary>(new GetPoolSummary(pool), PoolStartTimeout)));

        _intake = new EmsIntakeServer(settings.Ems, settings.AutoCopy.Pools.Keys.ToHashSet(), pools,
            new VaultLocator(settings.VaultRoot), log);
        _intake.Start();
        started.TrySetResult();
        _runtime.TrySetResult(new NodeRuntime(system, settings, pools, gate, eventLog));
        eventLog.Tell(new EventLogEntry(DateTimeOffset.UtcNow, Severity.Info, MessageIds.NodeStarted, settings.NodeName, null, null,
            $"node started; EMS on {_intake.LocalEndpoint}; {settings.AutoCopy.Pools.Count} pools monitored"));

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
}
