using System.Collections.Concurrent;
using Renci.SshNet;

namespace Vts.AutoCopy.Transport.ReadBack;

/// <summary>A tape sent in one stream by SSH.NET's own upload (<see cref="SftpClient.UploadFileAsync(Stream, string,
/// IProgress{UploadFileProgressReport}, CancellationToken)"/>), which keeps many write requests in flight and hears each
/// answer through a callback, where <see cref="Renci.SshNet.Sftp.SftpFileStream"/> waits for each through three
/// registered waits of the thread pool: on loopback, where CPU decides, a 512 MiB copy took 3.0 s (3.3 s of this
/// process's CPU) this way, 4.2 s (5.7 s) through write handles. Each read it makes is given one block, so each of its
/// write requests is one block, and the end offset its progress reports for an answer names the block acknowledged.</summary>
/// <remarks>The upload alone would fill the channel's window (2 MiB at OpenSSH) and then wait for room while holding
/// SSH.NET's lock on the channel, under which the read-back's small requests are sent too: they would wait behind it,
/// each blocking a thread of the pool (a 1 GiB copy on loopback stalled for 8 s while the pool grew). So the stream holds
/// its next block back while <see cref="InFlight"/> are unanswered, as many as the write handles keep.</remarks>
internal sealed class OneStream(SentBlocks blocks, Action<Block> acknowledged, CancellationToken cancellation)
    : Stream, IProgress<UploadFileProgressReport>
{
    private const int InFlight = ReadBackCopy.WritersPerConnection;

    // Not disposed: it gives out no wait handle, and an answer released into a disposed one would throw on SSH.NET's thread.
    private readonly SemaphoreSlim _unanswered = new(InFlight);
    /// <summary>Requests sent and not yet answered, by the end offset the answer's report names.</summary>
    private readonly ConcurrentDictionary<ulong, (Block Block, int Length)> _requests = new();
    private readonly ConcurrentDictionary<int, int> _answeredBytes = new();
    private Block? _block;
    private int _taken;

    /// <summary>Sends <paramref name="blocks"/> into <paramref name="path"/> over <paramref name="sftp"/>. A cancellation
    /// ends the stream rather than the upload: SSH.NET then hears the answers still to come before it returns, whereas
    /// an upload cancelled with requests in flight leaves their answers to callbacks of a stream already gone.</summary>
    public static async Task Send(SftpClient sftp, string path, SentBlocks blocks, Action<Block> acknowledged, CancellationToken cancellation)
    {
        var stream = new OneStream(blocks, acknowledged, cancellation);
        await sftp.UploadFileAsync(stream, path, stream, CancellationToken.None);
        cancellation.ThrowIfCancellationRequested();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_block is null || _taken == _block.Length)
        {
            try
            {
                await _unanswered.WaitAsync(cancellation);
                (_block, _taken) = (await blocks.Next(cancellation), 0);
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                return 0;
            }
            if (_block is null) return 0;
        }
        // The rest of the block, or as much as a request carries (a server with packets smaller than a block).
        var n = Math.Min(buffer.Length, _block.Length - _taken);
        _block.Sent.Slice(_taken, n).CopyTo(buffer.Span);
        _taken += n;
        _requests[(ulong)(_block.Offset + _taken)] = (_block, n);
        return n;
    }

    /// <summary>An answer came: called by SSH.NET as it reads it, for each write request the target acknowledged. Nothing
    /// here may throw: SSH.NET would end the session.</summary>
    public void Report(UploadFileProgressReport value)
    {
        if (!_requests.TryRemove(value.TotalBytesUploaded, out var request)) return;
        if (_answeredBytes.AddOrUpdate(request.Block.Index, request.Length, (_, bytes) => bytes + request.Length) < request.Block.Length) return;
        _answeredBytes.TryRemove(request.Block.Index, out _);
        _unanswered.Release();
        acknowledged(request.Block);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>SSH.NET's asynchronous upload reads asynchronously; nothing else reads this stream.</summary>
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
