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
        private int _awaited;
        private readonly CancellationTokenSource _closing = new();

        public IPAddress Peer { get; } = peer;
        public CancellationToken Closing => _closing.Token;
        public long LastActive => Interlocked.Read(ref _lastActive);

        /// <summary>Replies its sender still waits for. Such a connection is never closed for room: the events may be
        /// journaled already, and EMS text, which has no id, sent again would be journaled twice.</summary>
        public bool Awaited => Volatile.Read(ref _awaited) > 0;

        /// <summary>Bytes came: the connection is in use, the last of its peer's to be closed for room.</summary>
        public void Touch() => Interlocked.Exchange(ref _lastActive, System.Diagnostics.Stopwatch.GetTimestamp());

        /// <summary>A line was taken in; its reply is owed.</summary>
        public void Owe() => Interlocked.Increment(ref _awaited);

        /// <summary>A reply went out.</summary>
        public void Replied() => Interlocked.Decrement(ref _awaited);

        internal void Close()
        {
            try { _closing.Cancel(); }
            catch (AggregateException) { } // what its registrations threw is the closed connection's own end
            catch (ObjectDisposedException) { } // it ended by itself meanwhile
        }

        internal void Released() => _closing.Dispose();
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
        var admission = Place(peer);
        // Outside the lock: cancelling runs the closed connection's callbacks (its socket, its reply writer).
        admission.Closed?.Close();
        return admission;
    }

    private Admission Place(IPAddress peer)
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
                closed = busiest.Where(connection => !connection.Awaited).MinBy(connection => connection.LastActive);
                if (closed is null) return new(null, "full", null);
                Remove(closed);
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
        connection.Released();
    }

    private void Remove(Connection connection)
    {
        if (!_byPeer.TryGetValue(connection.Peer, out var held) || !held.Remove(connection)) return;
        _open--;
        if (held.Count == 0) _byPeer.Remove(connection.Peer);
    }
}
