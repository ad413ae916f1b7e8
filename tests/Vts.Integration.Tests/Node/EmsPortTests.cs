using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Vts.Integration.Tests.Fixtures;
using Vts.Testing;
using Vts.Testing.Wan;
using Xunit;

namespace Vts.Integration.Tests.Node;

/// <summary>docs/ems.md on a whole node: who may connect to the EMS port, and that no peer can keep another out.</summary>
public sealed class EmsPortTests : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private Sshd _sshd = null!;

    public async Task InitializeAsync() => _sshd = await Sshd.Create(start: false);

    public async Task DisposeAsync() => await _sshd.DisposeAsync();

    [Fact]
    public async Task Connections_held_open_from_several_local_addresses_never_keep_the_EMS_distributor_out()
    {
        using var site = new NodeSite(_sshd);
        TapeFiles.Write(site.Tape("POOL1", "A00001"), 1024);
        await using var node = NodeProcess.Start(site.ConfigFile);
        var ems = await node.WaitUntilReady(StartTimeout);

        // Five addresses of this host, each opening all it may and one more: 85 idle connections, more than the
        // port's 64. Before the fix four of them filled the port and everyone else was closed at once.
        var hogs = new List<TcpClient>();
        try
        {
            for (var peer = 10; peer < 15; peer++)
                for (var i = 0; i <= 16; i++)
                {
                    var hog = new TcpClient(new IPEndPoint(IPAddress.Parse($"127.0.0.{peer}"), 0));
                    await hog.ConnectAsync(ems);
                    hogs.Add(hog);
                }

            // Accepted after every hog (one queue, in order): still let in, and its event journaled.
            using var distributor = new EmsClient(ems);
            Assert.Equal("d-1", (await distributor.Send(EmsClient.Dismount("d-1", "POOL1", "A00001"))).GetProperty("ack").GetString());

            // The first four addresses filled the port; the fifth got in by closing their idle connections until the
            // shares were even (12 of its own, 13 each for the others), then was refused as "full"; the 17th of each of
            // the first four was over its own limit. The distributor, holding none, closed one of a busiest address's.
            var refused = await Refused(node);
            Assert.Equal(4, refused.GetValueOrDefault("peer-limit"));
            Assert.Equal(5, refused.GetValueOrDefault("full"));
        }
        finally
        {
            foreach (var hog in hogs) hog.Dispose();
        }
    }

    [Fact]
    public async Task Only_this_host_and_the_addresses_in_ems_allow_may_send_EMS_and_the_others_are_counted()
    {
        await using var link = await WanLink.Create(TimeSpan.FromMilliseconds(1), 100_000_000);
        using var site = new NodeSite(_sshd, extra: "ems.listen = \"0.0.0.0:0\"");
        TapeFiles.Write(site.Tape("POOL1", "A00001"), 1024);

        await using (var node = NodeProcess.Start(site.ConfigFile))
        {
            var port = (await node.WaitUntilReady(StartTimeout)).Port;
            Assert.Equal("closed", await SendFromFarSide(link, port, EmsClient.Dismount("far-1", "POOL1", "A00001")));
            Assert.Equal(1, (await Refused(node)).GetValueOrDefault("not-allowed"));
            // This host may always send, whatever the list says.
            using var local = new EmsClient(new IPEndPoint(IPAddress.Loopback, port));
            Assert.Equal("l-1", (await local.Send(EmsClient.Dismount("l-1", "POOL1", "A00001"))).GetProperty("ack").GetString());
        }

        File.WriteAllText(site.ConfigFile, File.ReadAllText(site.ConfigFile)
            .Replace("ems.listen = \"0.0.0.0:0\"", $"ems {{ listen = \"0.0.0.0:0\", allow = [\"{link.Far}/32\"] }}"));
        await using (var node = NodeProcess.Start(site.ConfigFile))
        {
            var port = (await node.WaitUntilReady(StartTimeout)).Port;
            Assert.Contains("\"ack\":\"far-2\"", await SendFromFarSide(link, port, EmsClient.Dismount("far-2", "POOL1", "A00001")));
            using var local = new EmsClient(new IPEndPoint(IPAddress.Loopback, port));
            Assert.Equal("l-2", (await local.Send(EmsClient.Dismount("l-2", "POOL1", "A00001"))).GetProperty("ack").GetString());
        }
    }

    /// <summary>One line sent from the far side of the link (another host, as the node sees it): the reply, or "closed".</summary>
    private static async Task<string> SendFromFarSide(WanLink link, int port, string line)
    {
        const string script = """
            import socket, sys
            try:
                s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
                s.sendall(sys.argv[3].encode() + b"\n")
                reply = b""
                while not reply.endswith(b"\n"):
                    chunk = s.recv(4096)
                    if not chunk: break
                    reply += chunk
                print(reply.decode().strip() or "closed")
            except OSError:
                print("closed")
            """;
        var (file, args) = link.InNamespace("/usr/bin/python3", "-c", script, link.Near.ToString(), port.ToString(), line);
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (await output).Trim();
    }

    private static async Task<Dictionary<string, double>> Refused(NodeProcess node)
    {
        using var http = new HttpClient();
        return PrometheusText.Parse(await http.GetStringAsync($"{node.AdminUrl}/metrics"))
            .Where(s => s.Name == "vts_ems_connections_refused_total")
            .ToDictionary(s => s.Labels["reason"], s => s.Value);
    }
}
