using Akka.Actor;

namespace Vts.Node.Admin;

/// <summary>Finds the live actors of this node the way Petabridge.Cmd does: Identify sent to every child selection,
/// level by level, until no new actor answers for a short while.</summary>
public sealed class HierarchyWalker : ReceiveActor
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);
    private readonly HashSet<string> _paths = [];

    public static Props Props(TaskCompletionSource<IReadOnlyList<string>> result) =>
        Akka.Actor.Props.Create(() => new HierarchyWalker(result));

    public HierarchyWalker(TaskCompletionSource<IReadOnlyList<string>> result)
    {
        Receive<ActorIdentity>(identity =>
        {
            if (identity.Subject is not { } actor) return;
            var path = actor.Path.ToStringWithoutAddress();
            if (path.StartsWith("/temp") || actor.Equals(Self) || !_paths.Add(path)) return;
            Context.ActorSelection(actor.Path + "/*").Tell(new Identify(null));
        });
        Receive<ReceiveTimeout>(_ =>
        {
            result.TrySetResult(_paths.Order(StringComparer.Ordinal).ToList());
            Context.Stop(Self);
        });
    }

    protected override void PreStart()
    {
        Context.ActorSelection("/user/*").Tell(new Identify(null));
        Context.ActorSelection("/system/*").Tell(new Identify(null));
        Context.SetReceiveTimeout(Quiet);
    }
}
