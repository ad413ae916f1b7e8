using System.Net;
using Vts.Integration.Tests.Fixtures;
using Vts.Testing;
using Xunit;

namespace Vts.Integration.Tests.Admin;

/// <summary>Every vtsctl command against a running node with a real journal (docs/operations.md).</summary>
public sealed class VtsCtlTests(AdminNodeFixture fixture) : IClassFixture<AdminNodeFixture>
{
    private Task<VtsCtl.Result> Ctl(params string[] args) => VtsCtl.Run(["--node", fixture.Node.AdminNode, .. args]);

    [Fact]
    public async Task Cluster_show_lists_this_node_up_and_leading()
    {
        var table = await Ctl("cluster", "show");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("Up", table.Out);

        var json = (await Ctl("--json", "cluster", "show")).Json;
        var member = Assert.Single(json.GetProperty("members").EnumerateArray());
        Assert.Equal("Up", member.GetProperty("status").GetString());
        Assert.Equal(json.GetProperty("self").GetString(), json.GetProperty("leader").GetString());
    }

    [Fact]
    public async Task Cluster_leave_or_down_of_an_unknown_member_fails()
    {
        var leave = await Ctl("cluster", "leave", "akka.tcp://vts@127.0.0.1:1");
        Assert.Equal(1, leave.ExitCode);
        Assert.Contains("no cluster member", leave.Err);
        Assert.Equal(1, (await Ctl("cluster", "down", "not-an-address")).ExitCode);
    }

    [Fact]
    public async Task Actor_hierarchy_shows_the_pool_supervisor_and_the_node_actors()
    {
        var paths = (await Ctl("actor", "hierarchy", "--json")).Json.GetProperty("paths").EnumerateArray().Select(p => p.GetString()).ToList();
        Assert.Contains("/user/transfer-gate", paths);
        Assert.Contains("/user/event-log", paths);
        Assert.Contains(paths, p => p!.StartsWith("/system/sharding/pool/") && p.EndsWith("/POOL1"));
        var tree = await Ctl("actor", "hierarchy");
        Assert.Equal(0, tree.ExitCode);
        Assert.Contains("transfer-gate", tree.Out);
    }

    [Fact]
    public async Task Autocopy_pools_counts_tapes_per_copy_state()
    {
        var pools = (await Ctl("autocopy", "pools", "--json")).Json.EnumerateArray().ToList();
        var pool1 = pools.Single(p => p.GetProperty("pool").GetString() == "POOL1");
        Assert.Equal(("dr", "DRPOOL1"), (pool1.GetProperty("target").GetString(), pool1.GetProperty("targetPool").GetString()));
        Assert.Equal(1, pool1.GetProperty("counts").GetProperty("failed").GetInt32());
        Assert.Equal(1, pool1.GetProperty("counts").GetProperty("idle").GetInt32());
        Assert.Equal(0, (await Ctl("autocopy", "pools")).ExitCode);
    }

    [Fact]
    public async Task Autocopy_tapes_filters_by_pool_and_state()
    {
        var failed = (await Ctl("autocopy", "tapes", "--state", "failed", "--json")).Json.EnumerateArray().ToList();
        Assert.Equal("F00001", Assert.Single(failed).GetProperty("volser").GetString());
        Assert.Empty((await Ctl("autocopy", "tapes", "--pool", "POOL2", "--json")).Json.EnumerateArray());
        var table = await Ctl("autocopy", "tapes", "--pool", "POOL1");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("F00001", table.Out);
        Assert.Equal(2, (await Ctl("autocopy", "tapes", "--state", "sleeping")).ExitCode);
        Assert.Equal(1, (await Ctl("autocopy", "tapes", "--pool", "NOPE")).ExitCode);
    }

    [Fact]
    public async Task Autocopy_show_answers_what_failed_and_what_was_copied()
    {
        var failed = (await Ctl("--json", "autocopy", "show", "POOL1", "F00001")).Json;
        Assert.Equal("failed", failed.GetProperty("state").GetString());
        Assert.Equal((2, 2), (failed.GetProperty("attempts").GetInt32(), failed.GetProperty("maxAttempts").GetInt32()));
        Assert.Contains("ELSEWHERE", failed.GetProperty("lastError").GetString());

        var copied = (await Ctl("--json", "autocopy", "show", "POOL1", "A00001")).Json;
        Assert.Equal("idle", copied.GetProperty("state").GetString());
        var last = copied.GetProperty("lastCopy");
        Assert.Equal((2 * 1024 * 1024L, fixture.CopiedSha), (last.GetProperty("size").GetInt64(), last.GetProperty("sha256").GetString()));
        Assert.True(last.GetProperty("miBPerSecond").GetDouble() > 0);

        var table = await Ctl("autocopy", "show", "POOL1", "A00001");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains(fixture.CopiedSha, table.Out);
    }

    [Fact]
    public async Task Autocopy_show_of_an_unknown_pool_or_volser_fails_and_bad_arguments_are_usage_errors()
    {
        var pool = await Ctl("autocopy", "show", "NOPE", "A00001");
        Assert.Equal(1, pool.ExitCode);
        Assert.Contains("no such pool", pool.Err);
        Assert.Equal(1, (await Ctl("autocopy", "show", "POOL1", "Z99999")).ExitCode);
        Assert.Equal(2, (await Ctl("autocopy", "show", "POOL1")).ExitCode);
        Assert.Equal(2, (await Ctl("autocopy", "bogus")).ExitCode);
        Assert.Equal(2, (await Ctl("eventlog", "--tail", "many")).ExitCode);
    }

    [Fact]
    public async Task Autocopy_retry_starts_a_fresh_series_only_for_a_tape_with_something_to_retry()
    {
        var idle = await Ctl("autocopy", "retry", "POOL1", "A00001");
        Assert.Equal(1, idle.ExitCode);
        Assert.Contains("nothing to retry", idle.Err + idle.Out);
    }

    [Fact]
    public async Task Eventlog_shows_the_tail_and_filters_by_time()
    {
        var entries = (await Ctl("eventlog", "--tail", "50", "--json")).Json.EnumerateArray().ToList();
        Assert.Contains(entries, e => e.GetProperty("messageId").GetInt32() == 224001 && e.GetProperty("volser").GetString() == "A00001");
        var error = entries.Single(e => e.GetProperty("messageId").GetInt32() == 624004);
        Assert.Equal("error", error.GetProperty("severity").GetString());
        Assert.Equal(2, (await Ctl("eventlog", "--tail", "2", "--json")).Json.GetArrayLength());
        Assert.Empty((await Ctl("eventlog", "--since", DateTimeOffset.UtcNow.AddHours(1).ToString("O"), "--json")).Json.EnumerateArray());
        Assert.Equal(0, (await Ctl("eventlog")).ExitCode);
    }

    [Fact]
    public async Task Journal_ids_and_events_read_the_persisted_journal_back_in_order()
    {
        var ids = (await Ctl("journal", "ids", "--json")).Json.EnumerateArray().Select(i => i.GetString()).ToList();
        Assert.Contains("tape-POOL1-A00001", ids);
        Assert.Contains("pool-POOL1", ids);
        Assert.DoesNotContain(ids, id => id!.StartsWith('/'));

        var events = (await Ctl("journal", "events", "tape-POOL1-A00001", "--json")).Json.EnumerateArray().ToList();
        Assert.Equal(["tape.mount.v1", "tape.dismount.v1", "tape.attempt-started.v1", "tape.copied.v1"],
            events.Select(e => e.GetProperty("manifest").GetString()).ToList());
        Assert.Equal([1L, 2, 3, 4], events.Select(e => e.GetProperty("sequenceNr").GetInt64()).ToList());
        Assert.Equal(fixture.CopiedSha, events[3].GetProperty("event").GetProperty("sha256").GetString());
        Assert.Equal(1, (await Ctl("journal", "events", "tape-NOPE-X")).ExitCode);
    }

    [Fact]
    public async Task License_show_reports_the_evaluation_of_a_new_site()
    {
        var license = await Ctl("license", "show", "--json");
        Assert.Equal(0, license.ExitCode);
        Assert.Equal("evaluation", license.Json.GetProperty("state").GetString());
        Assert.Matches("^VTS-[0-9A-Z]{12}$", license.Json.GetProperty("site").GetString());
        Assert.True(license.Json.GetProperty("copiesAllowed").GetBoolean());
        Assert.Contains("Evaluation until", (await Ctl("license", "show")).Out);
    }

    /// <summary>The launcher at the repository's root runs the built vtsctl, arguments and exit code passed through.</summary>
    [Fact]
    public async Task The_vtsctl_launcher_runs_the_built_command_line()
    {
        var info = new System.Diagnostics.ProcessStartInfo(Path.Combine(NodeProcess.RepositoryRoot, "vtsctl"))
            { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--node", fixture.Node.AdminNode, "--json", "license", "show" }) info.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(info)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.Equal(0, p.ExitCode);
        Assert.Equal("evaluation", System.Text.Json.JsonDocument.Parse(output).RootElement.GetProperty("state").GetString());
    }

    [Fact]
    public async Task A_node_that_cannot_be_reached_is_a_failure_with_a_clear_message()
    {
        var result = await VtsCtl.Run("--node", $"127.0.0.1:{Sshd.FreePort()}", "autocopy", "pools");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cannot reach node", result.Err);
    }

    [Fact]
    public async Task Metrics_parse_as_Prometheus_text_and_count_the_copies()
    {
        using var http = new HttpClient();
        var samples = PrometheusText.Parse(await http.GetStringAsync($"{fixture.Node.AdminUrl}/metrics"));
        double Value(string name, params (string Key, string Value)[] labels) =>
            samples.Single(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).Value;
        double ValueOrZero(string name, params (string Key, string Value)[] labels) =>
            samples.Any(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)) ? Value(name, labels) : 0;

        Assert.Equal(1, Value("vts_copies_completed_total", ("pool", "POOL1"), ("target", "dr")));
        Assert.Equal(1, Value("vts_copies_failed_total", ("pool", "POOL1"), ("target", "dr")));
        Assert.Equal(2 * 1024 * 1024, Value("vts_bytes_sent_total", ("target", "dr")));
        Assert.Equal(2, Value("vts_attempts_failed_total", ("pool", "POOL1"), ("target", "dr")));
        Assert.Equal(1, Value("vts_attempt_duration_seconds_count", ("target", "dr"), ("outcome", "copied")));
        Assert.Equal(0, Value("vts_transfers_in_flight", ("target", "dr")));
        Assert.Equal(0, Value("vts_copies_due", ("target", "dr")));
        Assert.True(Value("vts_ems_events_total", ("kind", "dismount"), ("outcome", "ack")) >= 2);

        // The counters move with the next copy, and with a refused line.
        var naks = ValueOrZero("vts_ems_events_total", ("kind", "other"), ("outcome", "nak"));
        var sha = TapeFiles.Write(fixture.Site.Tape("POOL2", "M00001"), 1024 * 1024, seed: 9);
        using (var ems = new EmsClient(fixture.Ems))
        {
            await ems.Send("{broken");
            await ems.Send(EmsClient.Dismount("metrics-1", "POOL2", "M00001"));
        }
        await AdminNodeFixture.Eventually(() => File.Exists(Path.Combine(fixture.Sshd.VaultRoot, "DRPOOL2", "M00001")), "the copy of M00001");
        await AdminNodeFixture.Eventually(() =>
        {
            samples = PrometheusText.Parse(http.GetStringAsync($"{fixture.Node.AdminUrl}/metrics").GetAwaiter().GetResult());
            return samples.Any(s => s.Name == "vts_copies_completed_total" && s.Labels["pool"] == "POOL2");
        }, "the POOL2 copy counted");
        Assert.Equal(1, Value("vts_copies_completed_total", ("pool", "POOL2"), ("target", "dr")));
        Assert.Equal(3 * 1024 * 1024, Value("vts_bytes_sent_total", ("target", "dr")));
        Assert.Equal(2, Value("vts_attempt_duration_seconds_count", ("target", "dr"), ("outcome", "copied")));
        Assert.Equal(naks + 1, Value("vts_ems_events_total", ("kind", "other"), ("outcome", "nak")));
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(fixture.Sshd.VaultRoot, "DRPOOL2", "M00001")));
    }

    [Fact]
    public async Task The_status_feed_shows_pools_queues_and_recent_entries()
    {
        using var http = new HttpClient();
        var status = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync($"{fixture.Node.AdminUrl}/api/status")).RootElement;
        Assert.Equal("test-node", status.GetProperty("node").GetString());
        Assert.Equal(2, status.GetProperty("pools").GetArrayLength());
        Assert.Equal("dr", status.GetProperty("targets")[0].GetProperty("target").GetString());
        Assert.True(status.GetProperty("copiesCompleted").GetInt64() >= 1);
        Assert.NotEqual(0, status.GetProperty("recentEvents").GetArrayLength());
        var owed = Assert.Single(status.GetProperty("owed").EnumerateArray());
        Assert.Equal(("F00001", "failed"), (owed.GetProperty("volser").GetString(), owed.GetProperty("state").GetString()));
        var page = await http.GetAsync(fixture.Node.AdminUrl + "/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("text/html", page.Content.Headers.ContentType!.ToString());
    }
}
