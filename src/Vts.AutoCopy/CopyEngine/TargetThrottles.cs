using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Serialization;

namespace Vts.AutoCopy.CopyEngine;

/// <summary>An operator's limit for a target (<c>vtsctl autocopy throttle</c>), in force over the configuration and
/// its schedule until <paramref name="Until"/> (null: until changed again).</summary>
/// <param name="Limit">bytes per second; null is unlimited.</param>
public sealed record ThrottleOverride(long? Limit, DateTimeOffset? Until, DateTimeOffset SetAt)
{
    public bool InForce(DateTimeOffset now) => Until is not { } until || until > now;
}

/// <summary>Sets a target's override (<paramref name="Limit"/>, for <paramref name="For"/> or until changed again), or
/// with <paramref name="Lift"/> removes it: the configuration and its schedule apply again. Sent to the transfer gate;
/// answered with <see cref="ThrottleAnswer"/> once journaled.</summary>
public sealed record ThrottleTarget(TargetName Target, long? Limit, TimeSpan? For, bool Lift) : IClusterMessage;

public sealed record ThrottleAnswer(bool Done, string Detail) : IClusterMessage;

/// <summary>Journaled: a target's override set, or lifted (<paramref name="Override"/> null).</summary>
/// <param name="Target">the target's name as text: Akka's checks of the journal's own messages (serialize-messages in
/// tests) see the event inside them through its default serializer, which cannot build our name types.</param>
public sealed record ThrottleChanged(string Target, ThrottleOverride? Override);

/// <summary>Told to the gate after recovery and after every change.</summary>
public sealed record ThrottlesNow(ImmutableDictionary<TargetName, ThrottleOverride> Overrides) : INoSerializationVerificationNeeded;

/// <summary>Keeps the operators' bandwidth overrides in the journal, so that one survives the gate moving to another
/// node and a restart of the whole cluster. The gate's child (under a back-off supervisor, as a journal outage stops
/// a persistent actor); it tells the gate what is in force, the gate does the rest.</summary>
public sealed class TargetThrottles : ReceivePersistentActor
{
    public const string PersistenceIdValue = "target-throttles";

    private readonly IActorRef _gate;
    private readonly TimeProvider _clock;
    private ImmutableDictionary<TargetName, ThrottleOverride> _overrides = ImmutableDictionary<TargetName, ThrottleOverride>.Empty;

    public override string PersistenceId => PersistenceIdValue;

    public static Props Props(IActorRef gate, TimeProvider clock) => Akka.Actor.Props.Create(() => new TargetThrottles(gate, clock));

    public TargetThrottles(IActorRef gate, TimeProvider clock)
    {
        _gate = gate;
        _clock = clock;
        Recover<ThrottleChanged>(Apply);
        Recover<RecoveryCompleted>(_ => _gate.Tell(new ThrottlesNow(_overrides)));
        Command<ThrottleTarget>(Throttle);
    }

    private void Throttle(ThrottleTarget command)
    {
        var now = _clock.GetUtcNow();
        if (command.Lift && !_overrides.ContainsKey(command.Target))
        {
            Sender.Tell(new ThrottleAnswer(true, $"target {command.Target} has no override; its configuration applies"));
            return;
        }
        var change = new ThrottleChanged(command.Target.Value,
            command.Lift ? null : new ThrottleOverride(command.Limit, command.For is { } span ? now + span : null, now));
        var asker = Sender;
        Persist(change, e =>
        {
            Apply(e);
            _gate.Tell(new ThrottlesNow(_overrides));
            asker.Tell(new ThrottleAnswer(true, e.Override switch
            {
                null => $"target {e.Target}: override lifted; its configuration applies again",
                { Until: { } until } o => $"target {e.Target}: limit {Rate.Format(o.Limit)} until {until:u}, over the whole cluster",
                var o => $"target {e.Target}: limit {Rate.Format(o.Limit)} until changed again, over the whole cluster",
            }));
        });
    }

    private void Apply(ThrottleChanged change)
    {
        var target = TargetName.Parse(change.Target);
        _overrides = change.Override is { } set ? _overrides.SetItem(target, set) : _overrides.Remove(target);
    }
}
