using System.Collections;
using Renci.SshNet;

namespace Vts.AutoCopy.Transport.ReadBack;

/// <summary>
/// R17 on a target that runs nothing but SFTP: which blocks of an earlier attempt's file, taken over as this attempt's
/// temporary file (<see cref="EarlierAttempts"/>), hold exactly what the source holds now. The file is read back once,
/// by SSH.NET's own pipelined download (the link's other direction: the upload's is not spent), and each whole block
/// compared with the source's bytes at the same offset. Those blocks are not sent again; the rest are, and every one of
/// them is proven by reading it back as ever (<see cref="ReadBackCopy"/>).
/// </summary>
/// <remarks>Nothing at the target can hash or copy for us there, so this costs reading the earlier bytes back, about
/// the time of sending them on a symmetric link; what it spares is the upload, the direction a site pays for and that
/// other copies share. A source changed since holds other bytes where it changed: those blocks are sent again.</remarks>
internal sealed class PartialCheck : Stream
{
    private readonly FileStream _source;
    private readonly long _checkable;
    private readonly Action _moved;
    private readonly BitArray _held;
    private readonly byte[] _theirs = new byte[Block.MaxLength];
    private readonly byte[] _ours = new byte[Block.MaxLength];
    private int _filled;
    private long _at;

    private PartialCheck(FileStream source, long partialLength, long tapeLength, Action moved)
    {
        _source = source;
        _checkable = Math.Min(partialLength, tapeLength) / Block.MaxLength * Block.MaxLength;
        _moved = moved;
        _held = new BitArray(Block.Count(tapeLength));
    }

    /// <summary>The blocks of the tape that <paramref name="path"/> at the target already holds as the source at
    /// <paramref name="sourcePath"/> has them, and how many bytes they make.</summary>
    /// <param name="moved">told of each piece read back: a long check that is moving is not a stall.</param>
    public static async Task<(BitArray Held, long Bytes)> Run(SftpClient sftp, string path, long partialLength, string sourcePath,
        long tapeLength, Action moved, CancellationToken cancellation)
    {
        await using var source = SourceTape.Open(sourcePath);
        await using var check = new PartialCheck(source, partialLength, tapeLength, moved);
        await sftp.DownloadFileAsync(path, check, cancellation);
        var bytes = 0L;
        for (var block = 0; block < check._held.Length; block++)
            if (check._held[block]) bytes += Block.MaxLength;
        return (check._held, bytes);
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _moved();
        while (buffer.Length > 0 && _at < _checkable)
        {
            var n = Math.Min(buffer.Length, Block.MaxLength - _filled);
            buffer[..n].CopyTo(_theirs.AsSpan(_filled));
            _filled += n;
            buffer = buffer[n..];
            if (_filled < Block.MaxLength) return;
            _source.Position = _at;
            if (_source.ReadAtLeast(_ours, Block.MaxLength, throwOnEndOfStream: false) == Block.MaxLength && _theirs.AsSpan().SequenceEqual(_ours))
                _held[(int)(_at / Block.MaxLength)] = true;
            (_at, _filled) = (_at + Block.MaxLength, 0);
        }
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _at + _filled;
    public override long Position { get => _at + _filled; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
