using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Vts.AutoCopy.Domain;

namespace Vts.AutoCopy.CopyEngine;

/// <summary>Places each monitored pool on one node of the cluster (docs/cluster.md): one shard per pool, the pool
/// supervisor its only entity, remembered so that a pool with due copies restarts wherever its shard lands.</summary>
public static class PoolSharding
{
    public const string TypeName = "pool";

    public static Task<IActorRef> StartAsync(ActorSystem system, CopyEngineContext engine)
    {
        var sharding = ClusterSharding.Get(system); // loads sharding's defaults, which the settings read
        var settings = ClusterShardingSettings.Create(system).WithRememberEntities(true);
        // A pool that moves ends its tapes' running attempts in the journal before it stops (PoolSupervisor.HandOff),
        // so the new owner never starts an attempt beside one still running here.
        return sharding.StartAsync(
            TypeName,
            entityId => PoolName.TryParse(entityId, out var pool, out _) && engine.AutoCopy.Pools.TryGetValue(pool, out var settings)
                ? PoolSupervisor.Props(settings, engine)
                : RetiredPool.Props(entityId),
            settings,
            new PoolMessageExtractor(),
            sharding.DefaultShardAllocationStrategy(settings),
            PoolSupervisor.HandOff.Instance);
    }
}

public sealed class PoolMessageExtractor : IMessageExtractor
{
    // Sharding's own StartEntity (remembered entities) is handled by Akka before this is asked.
    public string? EntityId(object message) => (message as IPoolCommand)?.Pool.Value;

    public object? EntityMessage(object message) => message;

    public string? ShardId(object message) => EntityId(message);

    public string ShardId(string entityId, object? messageHint = null) => entityId;
}

/// <summary>A remembered pool that is no longer configured: it says so once and stops, so the shard forgets it
/// instead of failing to start it after every restart. Its journal stays for inspection.</summary>
public sealed class RetiredPool : ReceiveActor
{
    public static Props Props(string pool) => Akka.Actor.Props.Create(() => new RetiredPool(pool));

    public RetiredPool(string pool)
    {
        Context.GetLogger().Warning("pool {0} has journaled work but is no longer configured; its copies stay as journaled", pool);
        Receive<PoolSupervisor.HandOff>(_ => Context.Stop(Self));
        ReceiveAny(_ => { });
        Context.Parent.Tell(new Passivate(PoisonPill.Instance));
    }
}
