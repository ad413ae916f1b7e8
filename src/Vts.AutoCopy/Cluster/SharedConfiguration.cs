using Akka.Actor;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using Vts.AutoCopy.Serialization;

namespace Vts.AutoCopy.Cluster;

/// <summary>Asks a node for the configuration every node must share; answered with <see cref="SharedSettings"/>.</summary>
public sealed record GetSharedSettings : IClusterMessage;

/// <param name="Settings">every leaf under the shared paths, as <c>path = value</c>, by path.</param>
public sealed record SharedSettings(string Node, IReadOnlyDictionary<string, string> Settings) : IClusterMessage;

/// <summary>docs/cluster.md: every node runs the same <c>vts.autocopy</c> and <c>vts.securevts</c> (and <c>vts.license</c>, whose
/// settings the license book reads on whichever node hosts the transfer gate). Two nodes that disagree would copy a
/// pool to different targets depending on where its shard lives. Akka.NET 1.5 carries no configuration
/// in its join handshake, so each node answers for its own here, and a joining node compares before it takes any
/// work (<see cref="Differences"/>).</summary>
public sealed class SharedConfiguration : ReceiveActor
{
    public const string Name = "shared-configuration";
    public static readonly string[] Paths = ["vts.autocopy", "vts.securevts", "vts.license"];

    /// <param name="settings">this node's, as <see cref="Flatten"/> reads them.</param>
    public static Props Props(string node, IReadOnlyDictionary<string, string> settings) =>
        Akka.Actor.Props.Create(() => new SharedConfiguration(node, settings));

    public SharedConfiguration(string node, IReadOnlyDictionary<string, string> settings)
    {
        Receive<GetSharedSettings>(_ => Sender.Tell(new SharedSettings(node, settings)));
    }

    public static IReadOnlyDictionary<string, string> Flatten(Config config)
    {
        var leaves = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in Paths)
            if (config.HasPath(path)) Walk(path, config.GetValue(path), leaves);
        return leaves;
    }

    private static void Walk(string path, HoconValue value, IDictionary<string, string> leaves)
    {
        if (value.IsObject())
        {
            foreach (var (key, child) in value.GetObject().Items) Walk($"{path}.{key}", child, leaves);
            return;
        }
        leaves[path] = value.IsArray()
            ? "[" + string.Join(", ", value.GetArray().Select(v => v.IsObject() ? v.ToString() : v.GetString())) + "]"
            : value.GetString();
    }

    /// <summary>What differs between this node's shared settings and another's, one line per key, naming both values;
    /// empty when they agree.</summary>
    public static IReadOnlyList<string> Differences(IReadOnlyDictionary<string, string> mine, SharedSettings theirs)
    {
        var lines = new List<string>();
        foreach (var key in mine.Keys.Union(theirs.Settings.Keys).Order(StringComparer.Ordinal))
        {
            var here = mine.GetValueOrDefault(key);
            var there = theirs.Settings.GetValueOrDefault(key);
            if (here == there) continue;
            lines.Add((here, there) switch
            {
                (null, _) => $"{key} is not set here but is \"{there}\" on {theirs.Node}",
                (_, null) => $"{key} is \"{here}\" here but not set on {theirs.Node}",
                _ => $"{key} is \"{here}\" here but \"{there}\" on {theirs.Node}",
            });
        }
        return lines;
    }
}
