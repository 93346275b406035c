using System.Buffers;
using System.Runtime.InteropServices;
using Google.Protobuf;

namespace SsePlugin.Benchmarks;

/// <summary>
/// Counts the rows of answer messages and sums each row's first number. It reads the wire format directly
/// (tags, lengths and doubles only) instead of building <c>BundledRows</c> objects, so that reading the answer
/// does not make the client the bottleneck. Messages are read where they arrive (see <see cref="Read"/>), so that
/// large answers do not land on the client's large object heap.
/// </summary>
internal sealed class AnswerTally
{
    private const uint RowsTag = (1 << 3) | 2;    // BundledRows.rows = 1, length-delimited
    private const uint DualsTag = (1 << 3) | 2;   // Row.duals = 1, length-delimited
    private const uint NumDataTag = (1 << 3) | 1; // Dual.numData = 1, 64-bit

    /// <summary>Gets the rows read so far.</summary>
    public long Rows { get; private set; }

    /// <summary>Gets the sum of the rows' first numbers (a missing number counts as 0, as in protobuf).</summary>
    public double Sum { get; private set; }

    /// <summary>
    /// Tallies one serialized <c>BundledRows</c> message in place, as the response marshaller's deserializer.
    /// </summary>
    public static AnswerTally Read(ReadOnlySequence<byte> payload)
    {
        var tally = new AnswerTally();
        if (payload.IsSingleSegment && MemoryMarshal.TryGetArray(payload.First, out var segment))
        {
            tally.Add(segment.Array!, segment.Offset, segment.Count);
            return tally;
        }

        var length = (int)payload.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        payload.CopyTo(buffer);
        tally.Add(buffer, 0, length);
        ArrayPool<byte>.Shared.Return(buffer);
        return tally;
    }

    /// <summary>Adds another tally.</summary>
    public void Add(AnswerTally other)
    {
        Rows += other.Rows;
        Sum += other.Sum;
    }

    private void Add(byte[] message, int offset, int length)
    {
        var input = new CodedInputStream(message, offset, length);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (tag != RowsTag)
            {
                input.SkipLastField();
                continue;
            }

            var rowEnd = input.ReadLength() + input.Position;
            var firstDual = true;
            Rows++;
            while (input.Position < rowEnd)
            {
                if (input.ReadTag() != DualsTag)
                {
                    input.SkipLastField();
                    continue;
                }

                var dualEnd = input.ReadLength() + input.Position;
                while (input.Position < dualEnd)
                {
                    if (input.ReadTag() == NumDataTag)
                    {
                        var number = input.ReadDouble();
                        Sum += firstDual ? number : 0;
                    }
                    else
                    {
                        input.SkipLastField();
                    }
                }

                firstDual = false;
            }
        }
    }
}
