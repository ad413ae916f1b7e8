using Akka.Configuration;
using Akka.Persistence.Sql;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Serialization;

namespace Vts.AutoCopy.Hosting;

/// <summary>Builds the node's configuration from its HOCON files (SPEC §4.1): later files override earlier ones,
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

    /// <summary>The whole Akka configuration: the operator's files first, then our defaults: a cluster (one node
    /// joins itself), Cluster Sharding with remembered entities, and the journal in SQLite under the state dir.</summary>
    public static Config ForAkka(Config files, VtsSettings settings)
    {
        var database = Path.Combine(settings.StateDir, "journal.db").Replace("\\", "/");
        var defaults = ConfigurationFactory.ParseString("""
            akka {
              actor.provider = cluster
              remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
              cluster {
                seed-nodes = []
                min-nr-of-members = 1
                sharding {
                  remember-entities = on
                  remember-entities-store = eventsourced
                  state-store-mode = persistence
                }
              }
            }
            """);
        return files
            .WithFallback(ConfigurationFactory.ParseString(VtsSerializer.Hocon))
            .WithFallback(defaults)
            .WithFallback(EmbeddedPersistence(database));
    }

    /// <summary>Journal, snapshot store and read journal in one SQLite file: the node's default, and what tests of the
    /// journal itself run on.</summary>
    public static Config EmbeddedPersistence(string database) => ConfigurationFactory.ParseString($$"""
        akka {
          persistence {
            # A tape actor is started (and recovers its journal) on its first event after being idle. Recoveries beyond
            # this wait; 200 keeps both cores busy here (more measured no faster: recovery is bound by CPU).
            max-concurrent-recoveries = 200
            journal {
              plugin = "akka.persistence.journal.sql"
              sql {
                class = "{{typeof(GroupCommitJournal).FullName}}, {{typeof(GroupCommitJournal).Assembly.GetName().Name}}"
                connection-string = "Data Source={{database}}"
                provider-name = "SQLite.MS"
                auto-initialize = on
                # SQLite takes one writer at a time; several only queue on its lock.
                parallelism = 1
                # The filter repairs histories that two writers of one persistence id interleaved. Here the journal's
                # unique (persistence id, sequence number) index (journal_uq, created by auto-initialize) already
                # refuses a second writer's event, so there is nothing to repair, and the filter cost a child actor
                # per recovery: a tenth of the CPU time when thousands of idle tapes woke at once.
                replay-filter.mode = off
                read-isolation-level = {{ReadIsolation}}
              }
            }
            snapshot-store {
              plugin = "akka.persistence.snapshot-store.sql"
              sql {
                class = "{{typeof(ParallelSnapshotStore).FullName}}, {{typeof(ParallelSnapshotStore).Assembly.GetName().Name}}"
                connection-string = "Data Source={{database}}"
                provider-name = "SQLite.MS"
                auto-initialize = on
                read-isolation-level = {{ReadIsolation}}
              }
            }
            query.journal.sql {
              write-plugin = "akka.persistence.journal.sql"
              connection-string = "Data Source={{database}}"
              provider-name = "SQLite.MS"
              read-isolation-level = {{ReadIsolation}}
            }
          }
        }
        """).WithFallback(SqlPersistence.DefaultConfiguration);

    /// <summary>Microsoft.Data.Sqlite begins every other transaction with BEGIN IMMEDIATE, which takes SQLite's one
    /// write lock: with it, every recovery's reads queued behind the journal writer and each other, losers sleeping
    /// 150 ms before trying again. A read-uncommitted transaction begins deferred and takes no lock; without a shared
    /// cache SQLite still shows it committed data only, so nothing uncommitted is ever read.</summary>
    private const string ReadIsolation = "read-uncommitted";

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
