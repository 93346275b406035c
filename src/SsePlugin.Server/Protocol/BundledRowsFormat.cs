using System.Numerics;
using System.Text;

namespace SsePlugin.Server.Protocol;

/// <summary>
/// The protobuf wire format of the three messages that carry rows (<c>BundledRows</c>, <c>Row</c>, <c>Dual</c>),
/// each of which has only a repeated message field 1, or a double field 1 and a string field 2.
/// </summary>
internal static class BundledRowsFormat
{
    /// <summary>Field 1, length-delimited: <c>BundledRows.rows</c> and <c>Row.duals</c>.</summary>
    public const byte MessageTag = (1 << 3) | 2;

    /// <summary>Field 1, 64-bit: <c>Dual.numData</c>.</summary>
    public const byte NumberTag = (1 << 3) | 1;

    /// <summary>Field 2, length-delimited: <c>Dual.strData</c>.</summary>
    public const byte TextTag = (2 << 3) | 2;

    /// <summary>The bytes of a varint.</summary>
    public static int VarintSize(uint value) => (BitOperations.Log2(value | 1) / 7) + 1;

    /// <summary>The bytes of a length-delimited field of <paramref name="length"/> bytes, tag included.</summary>
    public static int FieldSize(int length) => 1 + VarintSize((uint)length) + length;

    /// <summary>The UTF-8 bytes of a text; 0 for none.</summary>
    public static int TextBytes(string? text) => string.IsNullOrEmpty(text) ? 0 : Encoding.UTF8.GetByteCount(text);

    /// <summary>
    /// The bytes of a <c>Dual</c>'s content; proto3 leaves out a zero number (not -0 or NaN) and an empty text.
    /// </summary>
    public static int DualSize(double number, int textBytes) =>
        (BitConverter.DoubleToInt64Bits(number) != 0 ? 9 : 0) + (textBytes == 0 ? 0 : FieldSize(textBytes));
}
