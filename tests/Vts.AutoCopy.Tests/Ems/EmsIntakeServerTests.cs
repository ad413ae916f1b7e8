using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Microsoft.Extensions.Logging.Abstractions;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Ems;
using Xunit;

namespace Vts.AutoCopy.Tests.Ems;

/// <summary>The EMS port as a client sees it: one reply per line, in order; acks only once journaled (R8);
/// bad, oversized and stalled input refused without harming the connection or the server.</summary>
public sealed class EmsIntakeServerTests() : TestKit(Akka.Configuration.ConfigurationFactory.ParseString("akka.actor.serialize-messages = on")
    .WithFallback(Akka.Configuration.ConfigurationFactory.ParseString(Vts.AutoCopy.Serialization.VtsSerializer.Hocon))), IAsyncLifetime
{
    private readonly string _vault = Directory.CreateTempSubdirectory("vts-vault-").FullName;
    private readonly List<ITapeCommand> _journaled = [];
    private EmsIntakeServer _server = null!;

    /// <summary>Stands in for the pool shards: "journals" by recording, then answers as a tape actor does.</summary>
    private sealed class FakePools : ReceiveActor
    {
        public static Props For(List<ITapeCommand> journaled) => Props.Create(() => new FakePools(journaled));

        public FakePools(List<ITapeCommand> journaled)
        {
            var dropped = false;
            Receive<RecordMount>(m => { lock (journaled) journaled.Add(m); Sender.Tell(new TapeEventJournaled(m.EventId, false)); });
            Receive<RecordMountWithdrawn>(w => { lock (journaled) journaled.Add(w); Sender.Tell(new TapeEventJournaled(w.EventId, false)); });
            Receive<RecordMountAccepted>(a => { lock (journaled) journaled.Add(a); Sender.Tell(new TapeEventJournaled(a.EventId, false)); });
            Receive<RecordDismount>(d =>
            {
                // Volser NOACK stands for a journal that never answers; DROP01 for a pool being moved to another node,
                // which drops the first message that reaches it.
                if (d.Volser.Value == "NOACK") return;
                if (d.Volser.Value == "DROP01" && !dropped) { dropped = true; return; }
                lock (journaled) journaled.Add(d);
                Sender.Tell(new TapeEventJournaled(d.EventId, false));
            });
        }
    }

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_vault, "POOL1"));
        Directory.CreateDirectory(Path.Combine(_vault, "OTHER"));
        File.WriteAllText(Path.Combine(_vault, "POOL1", "A00001"), "tape");
        File.WriteAllText(Path.Combine(_vault, "OTHER", "B00002"), "tape");
        File.WriteAllText(Path.Combine(_vault, "POOL1", "DROP01"), "tape");
        File.WriteAllText(Path.Combine(_vault, "POOL1", "NOACK"), "tape");
        var pools = Sys.ActorOf(FakePools.For(_journaled));
        var settings = new EmsSettings(new IPEndPoint(IPAddress.Loopback, 0), TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(500));
        _server = new EmsIntakeServer(settings, new HashSet<PoolName> { PoolName.Parse("POOL1") }, pools,
            new VaultLocator(_vault), NullLogger.Instance);
        _server.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_vault, true);
    }

    private sealed class Client : IDisposable
    {
        private readonly TcpClient _tcp;
        private readonly StreamReader _reader;
        public readonly NetworkStream Stream;

        /// <param name="from">the local address to connect from (any 127.x.y.z is this machine's loopback).</param>
        public Client(IPEndPoint at, IPAddress? from = null)
        {
            _tcp = from is null ? new TcpClient() : new TcpClient(new IPEndPoint(from, 0));
            _tcp.Connect(at);
            Stream = _tcp.GetStream();
            _reader = new StreamReader(Stream, Encoding.UTF8);
        }

        public void Send(string text) => Stream.Write(Encoding.UTF8.GetBytes(text));

        public async Task<JsonElement> Reply()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var line = await _reader.ReadLineAsync(timeout.Token) ?? throw new IOException("connection closed");
            return JsonDocument.Parse(line).RootElement.Clone();
        }

        public async Task<bool> ClosedByServer()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            return await _reader.ReadLineAsync(timeout.Token) is null;
        }

        public void Dispose() => _tcp.Dispose();
    }

    [Fact]
    public async Task A_JSON_event_is_acknowledged_after_it_is_journaled()
    {
        using var client = new Client(_server.LocalEndpoint);
        client.Send("""{"id":"e-1","event":"dismount","pool":"POOL1","volser":"A00001"}""" + "\n");
        var reply = await client.Reply();
        Assert.Equal("e-1", reply.GetProperty("ack").GetString());
        Assert.False(reply.TryGetProperty("ignored", out _));
        lock (_journaled) Assert.Equal("e-1", Assert.Single(_journaled) is RecordDismount d ? d.EventId : null);
    }

    [Fact]
    public async Task R1_An_event_for_an_unmonitored_pool_is_acknowledged_as_ignored()
    {
        using var client = new Client(_server.LocalEndpoint);
        client.Send("""{"id":"e-2","event":"mount","pool":"OTHER","volser":"B00002","mode":"ring"}""" + "\n");
        var reply = await client.Reply();
        Assert.Equal("e-2", reply.GetProperty("ack").GetString());
        Assert.Contains("not monitored", reply.GetProperty("ignored").GetString());
        lock (_journaled) Assert.Empty(_journaled);
    }

    [Fact]
    public async Task EMS_text_finds_the_pool_by_locating_the_volser_in_the_vault()
    {
        using var client = new Client(_server.LocalEndpoint);
        client.Send("$ZSVR: 0042 MOUNT A00001 ON $TAPE1 WITH RING\nSTATUS 1512 - A00001 TAPE DISMOUNTED FROM DRIVE $TAPE1\n");
        client.Send("$ZSVR: 0043 MOUNT B00002 NO RING\n$ZSVR: 0044 MOUNT Z99999 WITH RING\n");
        Assert.True((await client.Reply()).TryGetProperty("ack", out _));
        Assert.True((await client.Reply()).TryGetProperty("ack", out _));
        Assert.Contains("not monitored", (await client.Reply()).GetProperty("ignored").GetString());
        Assert.Contains("in no pool", (await client.Reply()).GetProperty("ignored").GetString());
        lock (_journaled)
        {
            Assert.Equal(2, _journaled.Count);
            Assert.All(_journaled, c => Assert.Equal("POOL1", c.Pool.Value));
        }
    }

    [Fact]
    public async Task A_nak_leaves_the_connection_open_and_replies_stay_in_order()
    {
        using var client = new Client(_server.LocalEndpoint);
        client.Send("""{"id":"e-3","event":"mount","pool":"POOL1","volser":"a/b","mode":"ring"}""" + "\n");
        client.Send("{not json\n");
        client.Send("""{"id":"e-4","event":"dismount","pool":"POOL1","volser":"A00001"}""" + "\n");
        var first = await client.Reply();
        Assert.Equal("e-3", first.GetProperty("nak").GetString());
        Assert.Contains("invalid volser", first.GetProperty("error").GetString());
        var second = await client.Reply();
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nak").ValueKind);
        Assert.Equal("e-4", (await client.Reply()).GetProperty("ack").GetString());
    }

    [Fact]
    public async Task A_1_MiB_line_is_refused_and_the_next_line_still_works()
    {
        using var client = new Client(_server.LocalEndpoint);
        client.Send(new string('x', 1024 * 1024) + "\n");
        client.Send("""{"id":"e-5","event":"dismount","pool":"POOL1","volser":"A00001"}""" + "\n");
        Assert.Contains("longer than", (await client.Reply()).GetProperty("error").GetString());
        Assert.Equal("e-5", (await client.Reply()).GetProperty("ack").GetString());
    }

    [Fact]
    public async Task Binary_garbage_is_refused_and_the_connection_survives()
    {
        using var client = new Client(_server.LocalEndpoint);
        var garbage = new byte[3000];
        new Random(7).NextBytes(garbage);
        for (var i = 0; i < garbage.Length; i++) if (garbage[i] == '\n') garbage[i] = 0;
        client.Stream.Write(garbage);
        client.Send("\n" + """{"id":"e-6","event":"dismount","pool":"POOL1","volser":"A00001"}""" + "\n");
        Assert.True((await client.Reply()).TryGetProperty("nak", out _));
        Assert.Equal("e-6", (await client.Reply()).GetProperty("ack").GetString());
    }

    [Fact]
    public async Task A_client_that_stalls_mid_line_is_dropped_and_others_are_served_meanwhile()
    {
        using var staller = new Client(_server.LocalEndpoint);
        staller.Send("""{"id":"e-7","event":"dismount","po""");
        using var other = new Client(_server.LocalEndpoint);
        other.Send("""{"id":"e-8","event":"dismount","pool":"POOL1","volser":"A00001"}""" + "\n");
        Assert.Equal("e-8", (await other.Reply()).GetProperty("ack").GetString());

        Assert.True(await staller.ClosedByServer()); // after the 1 s idle timeout of this test
        lock (_journaled) Assert.DoesNotContain(_journaled, c => c is RecordDismount { EventId: "e-7" });
    }

    [Fact]
    public async Task An_event_its_pool_dropped_while_moving_to_another_node_is_sent_again_and_acknowledged()
    {
        using var client = new Client(_server.LocalEndpoint);
        client.Send("""{"id":"e-10","event":"dismount","pool":"POOL1","volser":"DROP01"}""" + "\n");
        Assert.Equal("e-10", (await client.Reply()).GetProperty("ack").GetString());
        lock (_journaled) Assert.Single(_journaled, c => c is RecordDismount { EventId: "e-10" });
    }

    [Fact]
    public async Task A_JSON_event_for_a_tape_its_pool_does_not_hold_is_acknowledged_as_ignored_like_EMS_text()
    {
        using var client = new Client(_server.LocalEndpoint);
        client.Send("""{"id":"e-40","event":"mount","pool":"POOL1","volser":"GONE01","mode":"ring"}""" + "\n");
        client.Send("""{"id":"e-41","event":"dismount","pool":"POOL1","volser":"GONE01"}""" + "\n");
        client.Send("""{"id":"e-42","event":"dismount","pool":"POOL1","volser":"B00002"}""" + "\n"); // in another pool
        client.Send("STATUS 1512 - GONE01 TAPE DISMOUNTED FROM DRIVE $TAPE1\n");
        foreach (var id in new[] { "e-40", "e-41", "e-42" })
        {
            var reply = await client.Reply();
            Assert.Equal(id, reply.GetProperty("ack").GetString());
            Assert.Contains("is not in pool POOL1 of the vault", reply.GetProperty("ignored").GetString());
        }
        Assert.Contains("in no pool", (await client.Reply()).GetProperty("ignored").GetString());
        // What is journaled of a tape that is there still is (the reply after it proves the earlier ones were read).
        client.Send("""{"id":"e-43","event":"dismount","pool":"POOL1","volser":"A00001"}""" + "\n");
        Assert.Equal("e-43", (await client.Reply()).GetProperty("ack").GetString());
        lock (_journaled)
        {
            Assert.Contains(_journaled, c => c is RecordDismount { EventId: "e-43" });
            Assert.DoesNotContain(_journaled, c => c.Volser.Value is "GONE01" || c is RecordDismount { EventId: "e-42" });
        }
    }

    [Fact]
    public async Task R16_A_mount_request_cancelled_rejected_or_accepted_goes_to_its_tape_and_one_for_an_unknown_tape_is_acknowledged_only()
    {
        using var client = new Client(_server.LocalEndpoint);
        client.Send("649 $ZSVR: 0051 REQUEST CANCELLED FOR VOLUME A00001\n");
        client.Send("$ZSVR: 0052 REJECTMOUNT A00001 DRIVE NOT READY\n");
        client.Send("10:00:01 648 $ZSVR: 0050 TAPE A00001 MOUNTED ON $TAPE1\n");
        client.Send("608 $ZSVR: 0053 TAPE A00001 UNKNOWN, REPLY WITH A DRIVE\n");
        var replies = new List<System.Text.Json.JsonElement>();
        for (var i = 0; i < 4; i++) replies.Add(await client.Reply());
        Assert.All(replies, r => Assert.True(r.TryGetProperty("ack", out _), r.ToString()));
        Assert.False(replies[2].TryGetProperty("ignored", out _), replies[2].ToString()); // the tape decides what 648 changes
        Assert.True(replies[3].TryGetProperty("ignored", out _), replies[3].ToString());
        lock (_journaled)
        {
            Assert.Equal(["cancelled", "rejected"], _journaled.OfType<RecordMountWithdrawn>().Where(w => w.Volser.Value == "A00001").Select(w => w.Reason));
            Assert.Single(_journaled.OfType<RecordMountAccepted>(), a => a.Volser.Value == "A00001" && a.EventId == replies[2].GetProperty("ack").GetString());
        }
    }

    [Fact]
    public async Task An_event_not_journaled_in_time_is_refused_so_the_sender_sends_it_again()
    {
        using var client = new Client(_server.LocalEndpoint);
        client.Send("""{"id":"e-9","event":"dismount","pool":"POOL1","volser":"NOACK"}""" + "\n");
        var reply = await client.Reply();
        Assert.Equal("e-9", reply.GetProperty("nak").GetString());
        Assert.Contains("send it again", reply.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Ids_made_up_for_EMS_text_are_unique_across_restarts_of_the_node()
    {
        await using var another = new EmsIntakeServer(
            new EmsSettings(new IPEndPoint(IPAddress.Loopback, 0), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)),
            new HashSet<PoolName>(), Sys.DeadLetters, new VaultLocator(_vault), NullLogger.Instance);
        Assert.NotEqual(_server.NextTextId(), another.NextTextId());

        using var client = new Client(_server.LocalEndpoint);
        client.Send("$ZSVR: 0042 MOUNT A00001 ON $TAPE1 WITH RING\n");
        var id = (await client.Reply()).GetProperty("ack").GetString()!;
        Assert.Matches("^ems-[0-9a-f]{8}-[0-9]+$", id);
    }

    [Fact]
    public async Task A_half_line_sent_a_byte_at_a_time_is_dropped_after_the_idle_timeout_like_silence()
    {
        using var dribbler = new Client(_server.LocalEndpoint);
        var closed = dribbler.ClosedByServer();
        // A byte every 200 ms: each read sees bytes, but the line is never whole (the idle timeout here is 1 s).
        for (var i = 0; i < 40 && !closed.IsCompleted; i++)
        {
            try { dribbler.Send("x"); }
            catch (IOException) { break; } // closed under us: what the test waits for
            await Task.WhenAny(closed, Task.Delay(200));
        }
        Assert.True(await closed);
    }

    [Fact]
    public async Task One_peer_with_every_connection_it_may_hold_open_does_not_keep_another_peer_out()
    {
        var hogs = Enumerable.Range(0, EmsIntakeServer.MaxConnectionsPerPeer + 4)
            .Select(_ => new Client(_server.LocalEndpoint, IPAddress.Parse("127.0.0.9"))).ToList();
        try
        {
            // Beyond its share, the hog's connections are closed at once.
            Assert.True(await hogs[^1].ClosedByServer());
            using var real = new Client(_server.LocalEndpoint, IPAddress.Parse("127.0.0.1"));
            real.Send("""{"id":"e-20","event":"dismount","pool":"POOL1","volser":"A00001"}""" + "\n");
            Assert.Equal("e-20", (await real.Reply()).GetProperty("ack").GetString());
        }
        finally
        {
            foreach (var hog in hogs) hog.Dispose();
        }
    }

    [Fact]
    public void This_host_and_the_networks_in_ems_allow_may_send_EMS_and_no_one_else()
    {
        var listen = new IPEndPoint(IPAddress.Loopback, 0);
        var none = new EmsSettings(listen, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        var some = none with { Allow = [IPNetwork.Parse("10.9.0.0/16"), IPNetwork.Parse("192.0.2.7/32")] };
        foreach (var settings in new[] { none, some })
        {
            Assert.True(settings.Allows(IPAddress.Parse("127.0.0.1")));
            Assert.True(settings.Allows(IPAddress.Parse("::ffff:127.0.0.1")));
            Assert.True(settings.Allows(IPAddress.IPv6Loopback));
            Assert.False(settings.Allows(IPAddress.Parse("10.1.2.3")));
            Assert.False(settings.Allows(IPAddress.Parse("192.0.2.8")));
        }
        Assert.False(none.Allows(IPAddress.Parse("10.9.200.1")));
        Assert.True(some.Allows(IPAddress.Parse("10.9.200.1")));
        Assert.True(some.Allows(IPAddress.Parse("::ffff:192.0.2.7")));
    }

    [Fact]
    public async Task Several_addresses_holding_every_connection_they_may_do_not_keep_another_peer_out()
    {
        var hogs = new List<Client>();
        try
        {
            for (var peer = 20; peer < 25; peer++)
                for (var i = 0; i < EmsIntakeServer.MaxConnectionsPerPeer; i++)
                    hogs.Add(new Client(_server.LocalEndpoint, IPAddress.Parse($"127.0.0.{peer}")));
            using var real = new Client(_server.LocalEndpoint, IPAddress.Parse("127.0.0.1"));
            real.Send("""{"id":"e-21","event":"dismount","pool":"POOL1","volser":"A00001"}""" + "\n");
            Assert.Equal("e-21", (await real.Reply()).GetProperty("ack").GetString());
        }
        finally
        {
            foreach (var hog in hogs) hog.Dispose();
        }
    }
}
