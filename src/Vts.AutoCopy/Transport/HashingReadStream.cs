using System.Security.Cryptography;

namespace Vts.AutoCopy.Transport;

/// <summary>Hashes the source as it is sent, so the SHA-256 costs no second read of the tape (R9).</summary>
/// <param name="moved">told of the bytes of each read: how the transfer is moving.</param>
/// <param name="meter">counts the bytes read for sending and paces them to the target's bandwidth share.</param>
internal sealed class HashingReadStream(Stream inner, Action<long>? moved = null, TransferMeter? meter = null) : Stream
{
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long BytesRead { get; private set; }

    public string Sha256Hex() => Convert.ToHexStringLower(_sha.GetCurrentHash());

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer[..(meter?.ReadSize(buffer.Length) ?? buffer.Length)]);
        Seen(buffer[..n]);
        meter?.PaceBlocking(n);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer[..(meter?.ReadSize(buffer.Length) ?? buffer.Length)], cancellationToken);
        Seen(buffer.Span[..n]);
        if (meter is not null) await meter.Pace(n, cancellationToken);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Seen(ReadOnlySpan<byte> bytes)
    {
        _sha.AppendData(bytes);
        BytesRead += bytes.Length;
        moved?.Invoke(bytes.Length);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => inner.Length;
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _sha.Dispose();
        base.Dispose(disposing);
    }
}
