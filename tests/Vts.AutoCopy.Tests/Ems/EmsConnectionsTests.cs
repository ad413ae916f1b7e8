using System.Net;
using Vts.AutoCopy.Ems;
using Xunit;

namespace Vts.AutoCopy.Tests.Ems;

/// <summary>docs/ems.md: the EMS port's connections are shared so that no peer can keep another out.</summary>
public sealed class EmsConnectionsTests
{
    private static IPAddress Peer(int n) => IPAddress.Parse($"127.0.0.{n}");

    [Fact]
    public void A_peer_may_hold_its_share_and_no_more()
    {
        var table = new EmsConnections(max: 8, perPeer: 2);
        Assert.NotNull(table.Admit(Peer(1)).Connection);
        Assert.NotNull(table.Admit(Peer(1)).Connection);
        var third = table.Admit(Peer(1));
        Assert.Equal((null, "peer-limit"), (third.Connection, third.Refused));
        Assert.Equal(2, table.Open);
    }

    [Fact]
    public void When_every_place_is_taken_a_newcomer_gets_in_by_closing_the_busiest_peers_longest_idle_connection()
    {
        var table = new EmsConnections(max: 4, perPeer: 2);
        var a1 = table.Admit(Peer(1)).Connection!;
        var a2 = table.Admit(Peer(1)).Connection!;
        var b1 = table.Admit(Peer(2)).Connection!;
        var b2 = table.Admit(Peer(2)).Connection!;
        a1.Touch(); // a2 is now peer 1's longest idle; b1 peer 2's

        var newcomer = table.Admit(Peer(3));
        Assert.NotNull(newcomer.Connection);
        var closed = newcomer.Closed!;
        Assert.True(closed.Closing.IsCancellationRequested);
        Assert.Contains(closed, new[] { a2, b1 });
        Assert.Equal(4, table.Open);
        Assert.Equal(1, table.OpenFrom(closed.Peer));
        // Releasing the closed one later (its task ends) changes nothing more.
        table.Release(closed);
        Assert.Equal(4, table.Open);
    }

    [Fact]
    public void A_connection_that_owes_a_reply_is_never_closed_for_room()
    {
        var table = new EmsConnections(max: 2, perPeer: 2);
        var busy = table.Admit(Peer(1)).Connection!;
        var idle = table.Admit(Peer(1)).Connection!;
        busy.Owe(); // a line taken in, its event perhaps journaled already: closed now, EMS text sent again would count twice
        idle.Owe();
        Assert.Equal((null, "full"), (table.Admit(Peer(2)).Connection, table.Admit(Peer(2)).Refused));

        idle.Replied();
        var newcomer = table.Admit(Peer(2));
        Assert.Same(idle, newcomer.Closed);
        Assert.False(busy.Closing.IsCancellationRequested);
    }

    [Fact]
    public void Peers_with_even_shares_never_close_each_others_connections()
    {
        var table = new EmsConnections(max: 4, perPeer: 4);
        var held = new[] { 1, 1, 2, 2 }.Select(n => table.Admit(Peer(n)).Connection!).ToList();
        // Peer 1 asks for a third: peer 2 holds no more than peer 1, so it gives nothing.
        var more = table.Admit(Peer(1));
        Assert.Equal((null, "full"), (more.Connection, more.Refused));
        Assert.All(held, c => Assert.False(c.Closing.IsCancellationRequested));
    }

    [Fact]
    public void A_connection_that_ends_gives_its_place_back()
    {
        var table = new EmsConnections(max: 1, perPeer: 1);
        var only = table.Admit(Peer(1)).Connection!;
        Assert.Equal("peer-limit", table.Admit(Peer(1)).Refused);
        table.Release(only);
        Assert.Equal(0, table.Open);
        Assert.NotNull(table.Admit(Peer(1)).Connection);
    }
}
