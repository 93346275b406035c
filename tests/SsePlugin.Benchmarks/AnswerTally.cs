using Google.Protobuf;

namespace SsePlugin.Benchmarks;

/// <summary>
/// Counts the rows of answer messages and sums each row's first number. It reads the wire format directly
/// (tags, lengths and doubles only) instead of building <c>BundledRows</c> objects, so that reading the answer
/// does not make the client the bottleneck.
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

    /// <summary>Adds one serialized <c>BundledRows</c> message.</summary>
    public void Add(byte[] message)
    {
        var input = new CodedInputStream(message);
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
