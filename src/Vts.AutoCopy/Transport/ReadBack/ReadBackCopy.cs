using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Renci.SshNet;
using Renci.SshNet.Common;
using Renci.SshNet.Sftp;

namespace Vts.AutoCopy.Transport.ReadBack;

/// <summary>
/// A large tape to a target that runs nothing but SFTP (R10, <c>sftp-only</c>), where the only proof of a copy is to read
/// it back (R9): the tape goes in blocks of one write request (<see cref="Block"/>), and the blocks the target has
/// acknowledged are read back and compared with what was sent while later blocks are still being written.
/// </summary>
/// <remarks>
/// <para>Reading back goes over the link's other direction, which the upload leaves idle, through many read handles
/// open on the one temporary file, each reading one <see cref="Pair"/> of blocks per request. A read handle is only ever
/// sent to pairs the target has acknowledged, and never to the pair after its last one: <see cref="SftpFileStream"/>
/// keeps reading ahead from where a read ended, and a read ahead into bytes not yet written would see zeros, whereas a
/// seek anywhere else starts it afresh with one request.</para>
/// <para>The bytes go in one stream over one connection (<see cref="OneStream"/>: a near target, where more connections
/// would only share the same CPU); to a far target over several connections (<see cref="Connections"/>) through many
/// write handles on each: <see cref="SftpFileStream"/> waits for the answer to each write before it sends the next, one
/// block per round trip (0.6 MB/s at 50 ms), so each connection holds many handles, each writing the next block not yet
/// taken at its offset. Together they keep about 1.5 MiB in flight per connection, under OpenSSH's 2 MiB channel window,
/// so no send waits for window space (SSH.NET would block a thread for it); a slower connection holds back no other.
/// The handles of a connection send their requests one at a time (<see cref="SendGate"/>).</para>
/// <para>Every block read back equal to the bytes sent for it, and the file's size equal to the tape's, is the whole
/// file equal to what was sent: to the bytes of the tape's SHA-256 (journaled), taken in the same one read of the source
/// that gave the blocks (docs/rules.md, R9). A block's bytes are kept until it is proven and compared as they are:
/// hashing each block here and again as it is read back would be two more passes of SHA-256 over the tape, on the CPU
/// that both ends share on a near target, to show no more than the bytes themselves do.</para>
/// </remarks>
internal static class ReadBackCopy
{
    /// <summary>Write handles per connection of a far target: 48 requests of 32 KiB in flight, 1.5 MiB, under OpenSSH's
    /// 2 MiB window with room for the read requests (about 31 MB/s a connection at 50 ms).</summary>
    public const int WritersPerConnection = 48;

    /// <summary>Read handles per connection: 32 pairs, 2 MiB, in flight, a little more than the writes, so that the
    /// read-back keeps pace with the upload.</summary>
    public const int ReadersPerConnection = 32;

    /// <summary>Blocks read from the source and not yet proven, per connection: every request in flight each way, twice
    /// over; what the copy keeps of the tape (7 MiB a connection).</summary>
    private const int UnprovenPerConnection = 2 * (WritersPerConnection + 2 * ReadersPerConnection);

    /// <summary>The round trip one connection's writes cover: 1.5 MiB in flight per 25 ms is about 60 MB/s, a little more
    /// than the links measured carry (bench section 7).</summary>
    private static readonly TimeSpan RoundTripPerConnection = TimeSpan.FromMilliseconds(25);

    /// <summary>How many connections a tape of <paramref name="length"/> goes over, on a link of
    /// <paramref name="roundTrip"/>: one near (a LAN, loopback), else one per 25 ms of round trip (rounded), as many as the
    /// chunk path would take at most. More bytes in flight than the link holds only queue at its bottleneck, where the
    /// read-back's requests and the writes' answers then wait behind them: at 50 ms and 400 Mbit/s, 4 connections moved
    /// 31 MB/s and 2 moved 36 MB/s; at 100 ms and 1 Gbit/s 4 moved 33 MB/s and 2 moved 21 MB/s.</summary>
    public static int Connections(long length, TimeSpan roundTrip) =>
        Math.Clamp((int)Math.Round(roundTrip / RoundTripPerConnection, MidpointRounding.AwayFromZero), 1, Stripes.Count(length, roundTrip));

    /// <param name="Sha256">of the tape, from the bytes read to be sent.</param>
    /// <param name="BytesRead">of the source: fewer than the tape's length where it shrank meanwhile.</param>
    /// <param name="SizeAtTarget">of the temporary file once every block was proven, by its handle (not its name).</param>
    /// <param name="Verification">the wait for the read-back after the target acknowledged the last block.</param>
    public sealed record Copied(string Sha256, long BytesRead, long SizeAtTarget, TimeSpan Verification);

    /// <summary>Sends <paramref name="source"/> (<paramref name="length"/> bytes) into <paramref name="tempPath"/>, which
    /// exists (created exclusively by the caller), over <paramref name="connections"/>, and proves each block by reading
    /// it back. Blocks the file <paramref name="held"/> already (R17: an earlier attempt's, <see cref="PartialCheck"/>)
    /// are not sent.</summary>
    /// <exception cref="AttemptVoidedException">a block read back differs from the bytes sent.</exception>
    public static async Task<Copied> Run(IReadOnlyList<SftpClient> connections, Stream source, long length, string tempPath,
        TransferMeter? meter, StallWatch watch, BitArray? held = null)
    {
        // SSH.NET's one-stream upload truncates the file first: what it held is written through handles instead.
        var (writers, readers) = await OpenHandles(connections, tempPath, watch, throughHandles: connections.Count > 1 || held is not null);
        // Handle i is over connection i mod n (OpenHandles).
        var gates = connections.Select(_ => new SendGate()).ToList();
        SendGate GateOf(int handle) => gates[handle % gates.Count];
        using var blocks = new SentBlocks(source, length, meter, UnprovenPerConnection * connections.Count, held);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(watch.Token);
        Exception? firstCause = null;
        // One block lost is the attempt lost: the first cause stops the rest, which then fail because of it.
        async Task Guard(Func<Task> work)
        {
            try
            {
                await work();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref firstCause, e, null);
                await stop.CancelAsync();
                throw;
            }
        }

        // Pair p is proven by reader p mod n: a reader's pairs are never next to each other (see the remarks).
        var toProve = readers.Select(_ => Channel.CreateUnbounded<Pair>(new UnboundedChannelOptions { SingleReader = true })).ToArray();
        var halves = new ConcurrentDictionary<int, Block>();
        // Called as the target answers each write (on SSH.NET's receiving thread: nothing here waits).
        void Acknowledged(Block block)
        {
            watch.Moved(block.Length);
            Pair pair;
            // The tape's last block, alone; so is one whose neighbour the target held already and is not sent.
            if ((block.Index ^ 1) >= blocks.Count || !blocks.Sends(block.Index ^ 1)) pair = new Pair(block, null);
            else if (halves.TryAdd(Pair.Of(block), block)) return; // its neighbour's answer sends both
            else
            {
                halves.TryRemove(Pair.Of(block), out var neighbour);
                pair = neighbour!.Index < block.Index ? new Pair(neighbour, block) : new Pair(block, neighbour);
            }
            toProve[Pair.Of(block) % toProve.Length].Writer.TryWrite(pair);
        }

        var writing = writers.Count == 0
            ? [Guard(() => OneStream.Send(connections[0], tempPath, blocks, Acknowledged, stop.Token))]
            : WriteThroughHandles(writers, GateOf, blocks, Acknowledged, Guard, stop.Token);
        var proving = readers.Select((handle, i) => Guard(() => Prove(handle, GateOf(i), toProve[i].Reader, block =>
        {
            blocks.Proven(block);
            watch.Moved();
        }, stop.Token))).ToList();
        try
        {
            await Task.WhenAll(writing);
            var verifying = Stopwatch.StartNew();
            foreach (var queue in toProve) queue.Writer.TryComplete();
            await Task.WhenAll(proving);
            // The size of the file this attempt wrote, asked through its handle (fstat): a name swapped since is not it.
            var size = await Task.Run(() => readers[0].Length, stop.Token);
            return new Copied(blocks.Sha256, blocks.BytesRead, size, verifying.Elapsed);
        }
        catch (Exception) when (firstCause is not null && !watch.Token.IsCancellationRequested)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(firstCause);
            throw;
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var queue in toProve) queue.Writer.TryComplete();
            // Nothing may still use a handle as it closes, nor the blocks as they go.
            await Task.WhenAll(writing.Concat(proving)).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            await CloseQuietly(writers.Concat(readers));
            foreach (var gate in gates) gate.Dispose();
        }
    }

    /// <summary>The read handles on every connection, and the write handles where the bytes go <paramref name="throughHandles"/>
    /// (else in <see cref="OneStream"/>). Each open is a request with a timeout of its own (SFTP's operation timeout): all
    /// go at once. A target may let a connection open fewer files than asked for (its SFTP server's limit, or its
    /// RLIMIT_NOFILE): the copy then goes on, slower, with as many of each kind as every connection opened, if that is
    /// enough (<see cref="MinimumReaders"/>, one writer); handle i stays over connection i mod n.</summary>
    private static async Task<(List<SftpFileStream> Writers, List<SftpFileStream> Readers)> OpenHandles(IReadOnlyList<SftpClient> connections,
        string tempPath, StallWatch watch, bool throughHandles)
    {
        using var settingUp = watch.SettingUp();
        // Asked for in turn, writes and reads in proportion, so that a limit leaves some of each on every connection.
        var asked = Interleaved(throughHandles ? WritersPerConnection : 0, ReadersPerConnection)
            .SelectMany(access => connections.Select((connection, c) =>
                (Connection: c, Access: access, Opening: connection.OpenAsync(tempPath, FileMode.Open, access, watch.Token))))
            .ToList();
        await Task.WhenAll(asked.Select(a => a.Opening)).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        var opened = asked.Where(a => a.Opening.IsCompletedSuccessfully).Select(a => (a.Connection, a.Access, Handle: a.Opening.Result)).ToList();
        var writers = Spread(opened, FileAccess.Write, connections.Count);
        // At a limit, one reader gives its place back to the one stream's upload, which opens its own handle later.
        var readers = Spread(opened, FileAccess.Read, connections.Count, spare: throughHandles || opened.Count == asked.Count ? 0 : 1);
        if (readers.Count < MinimumReaders || (throughHandles && writers.Count == 0))
        {
            await CloseQuietly(opened.Select(o => o.Handle));
            // Only SFTP's bare "Failure" is a limit (a connection lost, a file not there or not ours has a type of its
            // own), and only while the copy goes on: a cut attempt stays cut, not failed.
            watch.Token.ThrowIfCancellationRequested();
            var causes = asked.Select(a => a.Opening.Exception?.InnerException).OfType<Exception>().ToList();
            if (causes.FirstOrDefault(e => e is not SftpException { StatusCode: StatusCode.Failure }) is { } other)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(other);
            throw new IOException($"the target let this copy open {opened.Count} of the {asked.Count} SFTP handles it asked for on " +
                $"{tempPath}; it needs {MinimumReaders} to read back and, where it writes through handles, one to write on each " +
                $"of its {connections.Count} connection(s): {causes[0].Message}", causes[0]);
        }
        await CloseQuietly(opened.Select(o => o.Handle).Except(writers).Except(readers));
        return (writers, readers);
    }

    /// <summary>Pairs go to the read handles in turn, and a handle must never be sent the pair after its last one (see
    /// the remarks): with one handle every pair would be.</summary>
    private const int MinimumReaders = 2;

    /// <summary><paramref name="writes"/> and <paramref name="reads"/> in one sequence, each kind spread evenly over it.</summary>
    internal static IEnumerable<FileAccess> Interleaved(int writes, int reads) =>
        Enumerable.Range(0, writes).Select(i => (Access: FileAccess.Write, At: (i + 0.5) / writes))
            .Concat(Enumerable.Range(0, reads).Select(i => (Access: FileAccess.Read, At: (i + 0.5) / reads)))
            .OrderBy(a => a.At).Select(a => a.Access);

    /// <summary>Of the <paramref name="access"/> handles <paramref name="opened"/>, as many per connection as the connection
    /// that opened fewest has, less <paramref name="spare"/>, in turn: the i-th over connection i mod
    /// <paramref name="connections"/>.</summary>
    internal static List<T> Spread<T>(IReadOnlyList<(int Connection, FileAccess Access, T Handle)> opened, FileAccess access, int connections,
        int spare = 0)
    {
        var byConnection = Enumerable.Range(0, connections)
            .Select(c => opened.Where(o => o.Connection == c && o.Access == access).Select(o => o.Handle).ToList()).ToList();
        var each = Math.Max(0, byConnection.Min(handles => handles.Count) - spare);
        return Enumerable.Range(0, each).SelectMany(i => byConnection.Select(handles => handles[i])).ToList();
    }

    /// <summary>The blocks through many write handles: each block a handle takes is one write request, and its answer
    /// the target's acknowledgement.</summary>
    private static List<Task> WriteThroughHandles(List<SftpFileStream> writers, Func<int, SendGate> gateOf, SentBlocks blocks,
        Action<Block> acknowledged, Func<Func<Task>, Task> guard, CancellationToken cancellation)
    {
        var toWrite = Channel.CreateBounded<Block>(new BoundedChannelOptions(writers.Count) { SingleWriter = true });
        var taking = guard(async () =>
        {
            try
            {
                while (await blocks.Next(cancellation) is { } block) await toWrite.Writer.WriteAsync(block, cancellation);
            }
            finally
            {
                toWrite.Writer.TryComplete();
            }
        });
        return [taking, ..writers.Select((handle, i) => guard(async () =>
        {
            await foreach (var block in toWrite.Reader.ReadAllAsync(cancellation))
            {
                handle.Seek(block.Offset, SeekOrigin.Begin);
                await handle.WriteAsync(block.Bytes.AsMemory(0, block.Length), cancellation); // into the handle's buffer
                await gateOf(i).Send(() => handle.FlushAsync(cancellation), cancellation); // the request
                acknowledged(block);
            }
        }))];
    }

    /// <summary>One read handle: each pair it is given (acknowledged by the target) read back in one request and compared
    /// with the bytes sent for it.</summary>
    private static async Task Prove(SftpFileStream handle, SendGate gate, ChannelReader<Pair> acknowledged, Action<Block> proven,
        CancellationToken cancellation)
    {
        var readBack = new byte[2 * Block.MaxLength];
        await foreach (var pair in acknowledged.ReadAllAsync(cancellation))
        {
            handle.Seek(pair.Offset, SeekOrigin.Begin);
            int read = 0, n;
            while (read < pair.Length && (n = await gate.Send(() => handle.ReadAsync(readBack.AsMemory(read, pair.Length - read), cancellation).AsTask(),
                       cancellation)) > 0)
                read += n;
            if (read < pair.Length)
                throw new AttemptVoidedException($"the target holds {pair.Offset + read} bytes where {pair.End} were sent (read back)");
            foreach (var block in pair.Blocks)
            {
                if (!readBack.AsSpan((int)(block.Offset - pair.Offset), block.Length).SequenceEqual(block.Sent))
                    throw new AttemptVoidedException($"the copy at the target differs from the source in bytes {block.Offset}-{block.End} (read back)");
                proven(block);
            }
        }
    }

    /// <summary>Closes handles at the target, all at once; one that cannot be closed (its connection gone) is let go.</summary>
    private static async Task CloseQuietly(IEnumerable<SftpFileStream> handles) =>
        await Task.WhenAll(handles.Select(async handle =>
        {
            try
            {
                await handle.DisposeAsync();
            }
            catch (Exception)
            {
                // Its connection is gone or going: so is the handle at the target.
            }
        }));
}
