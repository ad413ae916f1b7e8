namespace Vts.AutoCopy.Cluster;

/// <summary>In the state dir of a node that the rest of its cluster downed while it ran, until it is a member again.
/// A node is downed when the others stop hearing it: a long pause, or a network partition that left it in the
/// minority (it then downs itself). Its service manager starts it again at once, while the partition may still
/// last, and the first seed node, hearing no other seed, would start a cluster of its own beside the others', on the
/// same journal: two owners of every pool. With this file a node joins only a cluster that the other seed nodes run.</summary>
public static class DownedMarker
{
    public const string FileName = "downed.marker";

    public static string PathIn(string stateDir) => Path.Combine(stateDir, FileName);

    public static bool IsIn(string stateDir) => File.Exists(PathIn(stateDir));

    public static void Write(string stateDir, DateTimeOffset at) =>
        File.WriteAllText(PathIn(stateDir),
            $"downed by the cluster {at:u}\n" +
            "While this file is here, vts-node joins only a cluster its other seed nodes run, however long it waits; it\n" +
            "removes the file once it is a member again. Delete it only if every other node is gone for good and this one\n" +
            "must start a new cluster on its own.\n");

    public static void Remove(string stateDir) => File.Delete(PathIn(stateDir));
}
