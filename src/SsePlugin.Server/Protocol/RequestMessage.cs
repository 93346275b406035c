using System.Buffers;

namespace SsePlugin.Server.Protocol;

/// <summary>
/// One request <c>BundledRows</c> as it arrived: its bytes, copied out of the transport's buffers, which are only
/// lent while the message is read. The call decodes it into a <see cref="RequestBlock"/> once it knows where the
/// rows go, then releases it.
/// </summary>
internal sealed class RequestMessage
{
    // Qlik's bundles are tens of kilobytes. Far larger messages get an array of their own, which the GC takes back,
    // so that the pool never holds on to one.
    private const int MaxPooledBytes = 1024 * 1024;

    private readonly int _length;
    private readonly bool _pooled;
    private byte[]? _bytes;

    private RequestMessage(byte[] bytes, int length, bool pooled)
    {
        _bytes = bytes;
        _length = length;
        _pooled = pooled;
    }

    /// <summary>Gets the serialized message; empty once released.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes is null ? default : _bytes.AsSpan(0, _length);

    /// <summary>Copies a message out of the buffers it arrived in.</summary>
    public static RequestMessage Copy(ReadOnlySequence<byte> payload)
    {
        var length = checked((int)payload.Length);
        var pooled = length <= MaxPooledBytes;
        var bytes = pooled ? ArrayPool<byte>.Shared.Rent(length) : GC.AllocateUninitializedArray<byte>(length);
        payload.CopyTo(bytes);
        return new RequestMessage(bytes, length, pooled);
    }

    /// <summary>Gives the bytes back to the pool; the message is empty afterwards.</summary>
    public void Release()
    {
        if (_bytes is { } bytes && _pooled)
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }

        _bytes = null;
    }
}
