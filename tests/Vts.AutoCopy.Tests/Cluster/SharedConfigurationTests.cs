using Akka.Configuration;
using Vts.AutoCopy.Cluster;
using Xunit;

namespace Vts.AutoCopy.Tests.Cluster;

/// <summary>docs/cluster.md: every node runs the same vts.autocopy and vts.securevts; a difference is named key by key.</summary>
public sealed class SharedConfigurationTests
{
    private const string Cluster = """
        vts {
          node-name = "node-1"
          state-dir = "/var/lib/vts/state-1"
          autocopy {
            retry { interval = 5m, max-attempts = 12 }
            targets { dr { host = "dr-vts", port = 22 } }
            pools { POOL1 { target = dr, target-pool = DRPOOL1 } }
          }
        }
        """;

    private static IReadOnlyDictionary<string, string> Shared(string hocon) =>
        SharedConfiguration.Flatten(ConfigurationFactory.ParseString(hocon));

    [Fact]
    public void Only_the_autocopy_and_securevts_settings_are_shared_so_node_names_and_state_dirs_may_differ()
    {
        var mine = Shared(Cluster.Replace("node-1", "node-2").Replace("state-1", "state-2"));
        Assert.Empty(SharedConfiguration.Differences(mine, new SharedSettings("node-1", Shared(Cluster))));
        Assert.Equal("dr", mine["vts.autocopy.pools.POOL1.target"]);
    }

    [Fact]
    public void A_pool_the_cluster_lacks_and_a_target_host_it_sets_otherwise_are_each_named_with_both_values()
    {
        var mine = Shared(Cluster.Replace("\"dr-vts\",", "\"dr-vts-2\",")
            .Replace("pools {", "pools { POOL9 { target = dr, target-pool = DRPOOL9 }"));
        var differences = SharedConfiguration.Differences(mine, new SharedSettings("node-1", Shared(Cluster)));
        Assert.Contains(differences, d => d.StartsWith("vts.autocopy.pools.POOL9.target is \"dr\" here but not set on node-1"));
        Assert.Contains("vts.autocopy.targets.dr.host is \"dr-vts-2\" here but \"dr-vts\" on node-1", differences);
        Assert.Equal(3, differences.Count); // POOL9's target, its target-pool, and the host
    }

    [Fact]
    public void A_key_set_on_the_cluster_but_not_here_is_named_too()
    {
        var mine = Shared(Cluster.Replace("retry { interval = 5m, max-attempts = 12 }", "retry { interval = 5m }"));
        Assert.Equal(["vts.autocopy.retry.max-attempts is not set here but is \"12\" on node-1"],
            SharedConfiguration.Differences(mine, new SharedSettings("node-1", Shared(Cluster))));
    }

    [Fact]
    public void SecureVts_and_license_settings_that_differ_are_named_too()
    {
        var mine = Shared(Cluster.Replace("autocopy {", "securevts { enabled = on }\n  license { evaluation = off }\n  autocopy {"));
        var differences = SharedConfiguration.Differences(mine, new SharedSettings("node-1", Shared(Cluster)));
        Assert.Contains("vts.securevts.enabled is \"on\" here but not set on node-1", differences);
        Assert.Contains("vts.license.evaluation is \"off\" here but not set on node-1", differences);
    }
}
