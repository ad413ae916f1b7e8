using System.Net;

namespace Vts.AutoCopy.Ems;

/// <summary>The EMS port's open connections, by peer address. A peer may hold at most <c>perPeer</c> of the
/// <c>max</c>; when all are taken, a peer holding fewer than the busiest one still gets in, by closing the busiest
/// peer's longest-idle connection. So a few peers that open all they may (a stuck client, a hostile one, several
/// addresses of one host) can never keep another peer, the real EMS distributor included, out.</summary>
public sealed class EmsConnections(int max, int perPeer)
{
    /// <summary>One open connection; <see cref="Closing"/> is cancelled when it is closed to make room.</summary>
    public sealed class Connection(IPAddress peer)
    {
        private long _lastActive = System.Diagnostics.Stopwatch.GetTimestamp();
        private readonly CancellationTokenSource _closing = new();

        public IPAddress Peer { get; } = peer;
        public CancellationToken Closing => _closing.Token;
        public long LastActive => Interlocked.Read(ref _lastActive);

        /// <summary>Bytes came: the connection is in use, the last of its peer's to be closed for room.</summary>
        public void Touch() => Interlocked.Exchange(ref _lastActive, System.Diagnostics.Stopwatch.GetTimestamp());

        internal void Close() => _closing.Cancel();
    }

    /// <param name="Connection">null when refused.</param>
    /// <param name="Refused">why not: "peer-limit" or "full".</param>
    /// <param name="Closed">the connection closed to make room, if any.</param>
    public readonly record struct Admission(Connection? Connection, string? Refused, Connection? Closed);

    private readonly Dictionary<IPAddress, List<Connection>> _byPeer = [];
    private int _open;

    public int Open
    {
        get { lock (_byPeer) return _open; }
    }

    public int OpenFrom(IPAddress peer)
    {
        lock (_byPeer) return _byPeer.TryGetValue(peer, out var held) ? held.Count : 0;
    }

    public Admission Admit(IPAddress peer)
    {
        lock (_byPeer)
        {
            var mine = _byPeer.TryGetValue(peer, out var held) ? held.Count : 0;
            if (mine >= perPeer) return new(null, "peer-limit", null);
            Connection? closed = null;
            if (_open >= max)
            {
                var busiest = _byPeer.Values.MaxBy(connections => connections.Count)!;
                // Only a peer with at least two more than the newcomer gives way: the shares even out, and two peers
                // with equal shares never take turns closing each other.
                if (busiest.Count <= mine + 1) return new(null, "full", null);
                closed = busiest.MinBy(connection => connection.LastActive)!;
                Remove(closed);
                closed.Close();
            }
            var admitted = new Connection(peer);
            if (held is null) _byPeer[peer] = held = [];
            held.Add(admitted);
            _open++;
            return new(admitted, null, closed);
        }
    }

    /// <summary>The connection ended; a connection already closed to make room was let go then.</summary>
    public void Release(Connection connection)
    {
        lock (_byPeer) Remove(connection);
    }

    private void Remove(Connection connection)
    {
        if (!_byPeer.TryGetValue(connection.Peer, out var held) || !held.Remove(connection)) return;
        _open--;
        if (held.Count == 0) _byPeer.Remove(connection.Peer);
    }
}
