using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Akka.DistributedData;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Persistence;
using Vts.AutoCopy.Serialization;

namespace Vts.AutoCopy.Hosting;

/// <summary>Builds the node's configuration from its HOCON files (docs/configuration.md): later files override earlier ones,
/// <c>${?ENV_VAR}</c> works across files, and standard Akka keys in the files win over our defaults.</summary>
public static partial class NodeConfig
{
    public const string SystemName = "vts";

    public static Config Load(IReadOnlyList<string> files)
    {
        if (files.Count == 0) throw new ConfigurationInvalidException("no configuration: pass --config FILE");
        var texts = new List<string>();
        foreach (var file in files)
        {
            if (!File.Exists(file)) throw new ConfigurationInvalidException($"configuration file '{file}' does not exist");
            var text = File.ReadAllText(file);
            if (text.Length > 1024 * 1024) throw new ConfigurationInvalidException($"configuration file '{file}' is larger than 1 MiB");
            CheckStructure(file, text);
            texts.Add(SubstituteEnvironment(text));
        }
        // One document, files in order: HOCON merges repeated keys with the later value winning, and a
        // substitution in one file may refer to a key set in another.
        try
        {
            return ConfigurationFactory.ParseString(string.Join("\n", texts));
        }
        catch (Exception e)
        {
            throw new ConfigurationInvalidException($"configuration does not parse ({string.Join(", ", files)}): {FirstLine(e.Message)}");
        }
    }

    /// <summary>The largest message between nodes (Akka.Remote drops a larger one, and whoever asked waits in vain).
    /// The default, 128,000 bytes, held the transfer gate's status of only about five targets with their hour of
    /// samples; answers that could grow with the number of tapes are paged well below it.</summary>
    public const int MaximumFrameBytes = 1_048_576;

    /// <summary>The whole Akka configuration: the operator's files first, then our defaults: a cluster (with no seed nodes
    /// a node joins itself), Cluster Sharding with remembered entities, and the journal <c>vts.journal</c> names.</summary>
    public static Config ForAkka(Config files, VtsSettings settings)
    {
        var defaults = ConfigurationFactory.ParseString($$"""
            akka {
              actor.provider = cluster
              remote.dot-netty.tcp {
                hostname = "127.0.0.1", port = 0
                # An EMS event's ack waits for a round trip to the node that owns the pool. With batching, a quiet
                # connection held writes for the next flush: p50 16 ms and p99 120 ms at 500 events/s over three nodes.
                batching.enabled = false
                maximum-frame-size = {{MaximumFrameBytes}}b
              }
              cluster {
                seed-nodes = []
                min-nr-of-members = 1
                # The first seed node starts a cluster of its own when no other seed answers within this (default
                # 5 s), and a joining node asks the seeds again this often: a whole cluster started at once, after a
                # power cut, takes events that much sooner (with 2 s, the last node joined 2 s after the first).
                seed-node-timeout = 1s
                # Gossip, the leader's moves (Joining -> Up, Down -> Removed) and the check for unreachable nodes every
                # 250 ms, not every second (the defaults, sized for clusters of hundreds): a joining node is Up, and a
                # dead one seen unreachable, up to 0.75 s sooner each. Gossip among a few nodes is a few small messages.
                gossip-interval = 250ms
                leader-actions-interval = 250ms
                unreachable-nodes-reaper-interval = 250ms
                # Failover in seconds, not the default's minute: a heartbeat every 500 ms, a node unreachable after
                # 1.5 s of silence, downed when the picture has been stable for 3 s (keep-majority), removed 1 s later.
                # The price: a pause longer than 1.5 s (a long GC, a stalled VM) makes a node unreachable, and one
                # longer than about 4.5 s gets it downed, after which it restarts and rejoins. README, "Cluster".
                failure-detector {
                  heartbeat-interval = 500ms
                  acceptable-heartbeat-pause = 1500ms
                }
                downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
                split-brain-resolver {
                  active-strategy = keep-majority
                  stable-after = 3s
                }
                down-removal-margin = 1s
                # A singleton that moved is found by every node's proxy within this (default 1 s): the transfer gate
                # and the event log are back sooner after a failover.
                singleton-proxy.singleton-identification-interval = 250ms
                sharding {
                  remember-entities = on
                  # The coordinator writes its state to every node's replicator (majority plus 3 of 3); while a node
                  # is still joining, that write waits out this timeout (default 5 s) before it is tried again: after
                  # a whole-cluster start, pools came up 5 s late. Also the longest a pool's shard waits for its
                  # remembered pools to be journaled before it restarts.
                  updating-state-timeout = 2s
                  # Remembered pools are journaled (the coordinator's shards and each shard's pools), so a whole
                  # cluster restart brings back every pool; the coordinator's other state lives in memory, replicated
                  # (ddata), rebuilt by the regions when they register. No durable ddata: nothing is in LMDB.
                  state-store-mode = ddata
                  remember-entities-store = eventsourced
                  distributed-data.durable.keys = []
                }
              }
            }
            """);
        // The modules' own defaults, loaded up front: a node must read another's sharding and replicator messages (their
        // serializers) from the moment it joins, before its own sharding and singletons start.
        return files
            .WithFallback(ConfigurationFactory.ParseString(VtsSerializer.Hocon))
            .WithFallback(defaults)
            .WithFallback(PersistenceConfig.For(settings.Journal, settings.StateDir))
            .WithFallback(ClusterSharding.DefaultConfig())
            .WithFallback(DistributedData.DefaultConfig())
            .WithFallback(ClusterSingleton.DefaultConfig());
    }

    /// <summary>A node that joins others must share their journal: on its own SQLite file, a pool that moved to it
    /// would recover from an empty history and its due copies would be silently lost.</summary>
    public static void RefuseSqliteCluster(Config akka, VtsSettings settings)
    {
        if (settings.Journal.Provider != JournalProvider.Sqlite) return;
        var self = $"{akka.GetString("akka.remote.dot-netty.tcp.hostname")}:{akka.GetInt("akka.remote.dot-netty.tcp.port")}";
        var others = akka.GetStringList("akka.cluster.seed-nodes")
            .Where(seed => !(Uri.TryCreate(seed, UriKind.Absolute, out var uri) && $"{uri.Host}:{uri.Port}" == self))
            .ToList();
        if (others.Count > 0)
            throw new ConfigurationInvalidException(
                $"akka.cluster.seed-nodes names other nodes ({string.Join(", ", others)}) but vts.journal.provider is sqlite: " +
                "a cluster needs one shared journal (vts.journal.provider = postgresql)");
    }

    /// <summary>The cluster port taken by another process would stop the actor system inside the host's start, with
    /// Akka's and the host's stack traces; it is told here first in one line, like the EMS and admin ports.</summary>
    public static void RefuseRemotingPortInUse(Config akka)
    {
        const string tcp = "akka.remote.dot-netty.tcp";
        var host = akka.GetString($"{tcp}.bind-hostname") is { Length: > 0 } bindHost ? bindHost : akka.GetString($"{tcp}.hostname");
        var port = akka.GetString($"{tcp}.bind-port") is { Length: > 0 } bindPort && int.TryParse(bindPort, out var b) ? b : akka.GetInt($"{tcp}.port");
        if (port == 0 || string.IsNullOrEmpty(host)) return;
        try
        {
            var address = System.Net.IPAddress.TryParse(host, out var ip)
                ? ip
                : System.Net.Dns.GetHostAddresses(host).OrderBy(a => a.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork).First();
            using var probe = new System.Net.Sockets.Socket(address.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            // As the transport binds: a port whose last connections linger in TIME_WAIT (a node restarted) is free.
            probe.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Socket, System.Net.Sockets.SocketOptionName.ReuseAddress, true);
            probe.Bind(new System.Net.IPEndPoint(address, port));
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse)
        {
            throw new ConfigurationInvalidException($"{tcp}.port ({host}:{port}) is in use by another process");
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or InvalidOperationException)
        {
            // A name that does not resolve, an address not on this machine: Akka's own start says what is wrong.
        }
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();

    /// <summary>Akka's HOCON reader does not look in the environment, so <c>key = ${?VAR}</c> and <c>${VAR}</c> (upper-case
    /// names) are resolved here: set, the value is the variable's text; unset, an optional assignment is dropped and
    /// the earlier value stands, as HOCON specifies.</summary>
    internal static string SubstituteEnvironment(string text)
    {
        text = OptionalAssignment().Replace(text, m =>
            Environment.GetEnvironmentVariable(m.Groups["var"].Value) is { } value ? $"{m.Groups["key"].Value} = {Quoted(value)}" : "");
        return RequiredReference().Replace(text, m =>
            Environment.GetEnvironmentVariable(m.Groups["var"].Value) is { } value ? Quoted(value) : m.Value);
    }

    private static string Quoted(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    /// <summary>The reader accepts some broken text silently (an unclosed brace, a key with no value), which would
    /// start a node with settings nobody wrote; catch those here with a line number.</summary>
    private static void CheckStructure(string file, string text)
    {
        var depth = new Stack<(char Open, int Line)>();
        var line = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n') { line++; continue; }
            if (c == '"')
            {
                var tripleQuoted = i + 2 < text.Length && text[i + 1] == '"' && text[i + 2] == '"';
                var end = tripleQuoted ? text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal) : StringEnd(text, i);
                if (end < 0) throw new ConfigurationInvalidException($"{file}:{line}: unterminated string");
                line += text.AsSpan(i, end - i).Count('\n');
                i = tripleQuoted ? end + 2 : end;
                continue;
            }
            if (c == '#' || (c == '/' && i + 1 < text.Length && text[i + 1] == '/'))
            {
                var eol = text.IndexOf('\n', i);
                if (eol < 0) break;
                i = eol - 1;
                continue;
            }
            if (c is '{' or '[') depth.Push((c, line));
            else if (c is '}' or ']')
            {
                if (depth.Count == 0 || depth.Pop().Open != (c == '}' ? '{' : '['))
                    throw new ConfigurationInvalidException($"{file}:{line}: unexpected '{c}'");
            }
            else if (c is '=' or ':' && RestOfLineIsEmpty(text, i + 1) && !NextLineStartsValue(text, i + 1))
                throw new ConfigurationInvalidException($"{file}:{line}: a key with no value");
        }
        if (depth.Count > 0)
        {
            var (open, at) = depth.Pop();
            throw new ConfigurationInvalidException($"{file}:{at}: '{open}' is never closed");
        }
    }

    private static int StringEnd(string text, int start)
    {
        for (var i = start + 1; i < text.Length; i++)
        {
            if (text[i] == '\\') { i++; continue; }
            if (text[i] == '"') return i;
            if (text[i] == '\n') return -1;
        }
        return -1;
    }

    private static bool RestOfLineIsEmpty(string text, int from)
    {
        for (var i = from; i < text.Length && text[i] != '\n'; i++)
        {
            if (text[i] == '#') return true;
            if (!char.IsWhiteSpace(text[i])) return false;
        }
        return true;
    }

    private static bool NextLineStartsValue(string text, int from)
    {
        var eol = text.IndexOf('\n', from);
        if (eol < 0) return false;
        var next = text[(eol + 1)..].TrimStart();
        return next.StartsWith('{') || next.StartsWith('[');
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<key>[A-Za-z0-9_.\-""]+)\s*[=:]\s*\$\{\?(?<var>[A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial System.Text.RegularExpressions.Regex OptionalAssignment();

    [System.Text.RegularExpressions.GeneratedRegex(@"\$\{(?<var>[A-Z_][A-Z0-9_]*)\}")]
    private static partial System.Text.RegularExpressions.Regex RequiredReference();
}
