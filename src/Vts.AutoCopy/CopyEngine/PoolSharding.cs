using Akka.Actor;
using Akka.Cluster.Sharding;
using Vts.AutoCopy.Domain;

namespace Vts.AutoCopy.CopyEngine;

/// <summary>Places each monitored pool on one node of the cluster (SPEC §5): one shard per pool, the pool
/// supervisor its only entity, remembered so that a pool with due copies restarts wherever its shard lands.</summary>
public static class PoolSharding
{
    public const string TypeName = "pool";

    public static Task<IActorRef> StartAsync(ActorSystem system, CopyEngineContext engine)
    {
        var sharding = ClusterSharding.Get(system); // loads sharding's defaults, which the settings read
        var settings = ClusterShardingSettings.Create(system).WithRememberEntities(true);
        return sharding.StartAsync(
            TypeName,
            entityId => PoolSupervisor.Props(engine.AutoCopy.Pools[PoolName.Parse(entityId)], engine),
            settings,
            new PoolMessageExtractor());
    }

    /// <summary>Wakes every configured pool, so pools with due copies resume even before any new EMS event.</summary>
    public static void WakeAll(IActorRef region, CopyEngineContext engine)
    {
        foreach (var pool in engine.AutoCopy.Pools.Keys) region.Tell(new WakePool(pool));
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
