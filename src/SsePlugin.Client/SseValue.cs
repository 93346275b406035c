using System.Globalization;
using Qlik.Sse;

namespace SsePlugin.Client;

/// <summary>
/// One value of a row that Qlik sends: a number (a numeric parameter), a text (a string parameter) or a
/// <see cref="SseDual"/> (a dual parameter, both). Numbers, strings and duals convert to it implicitly, so a row is
/// written <c>[1000, 600]</c> or <c>["North", 12.5]</c>.
/// </summary>
public readonly struct SseValue : IEquatable<SseValue>
{
    private readonly double _number;
    private readonly string? _text;
    private readonly bool _isDual;

    private SseValue(double number, string? text, bool isDual) => (_number, _text, _isDual) = (number, text, isDual);

    /// <summary>Gets a value Qlik sends for a missing number (null in Qlik): NaN.</summary>
    public static SseValue Null => new(double.NaN, null, isDual: false);

    /// <summary>Gets the number Qlik sends, or 0 for a text.</summary>
    public double Number => _number;

    /// <summary>Gets the text Qlik sends, or the empty string for a number.</summary>
    public string Text => _text ?? string.Empty;

    /// <summary>A numeric value, as Qlik sends a numeric parameter.</summary>
    public static implicit operator SseValue(double number) => new(number, null, isDual: false);

    /// <summary>A text, as Qlik sends a string parameter.</summary>
    public static implicit operator SseValue(string text) => new(0, text ?? string.Empty, isDual: false);

    /// <summary>A dual, as Qlik sends a dual parameter: its number and its text.</summary>
    public static implicit operator SseValue(SseDual dual) => new(dual.Number, dual.Text ?? string.Empty, isDual: true);

    /// <summary>Compares two values.</summary>
    public static bool operator ==(SseValue left, SseValue right) => left.Equals(right);

    /// <summary>Compares two values.</summary>
    public static bool operator !=(SseValue left, SseValue right) => !left.Equals(right);

    /// <summary>Converts a number.</summary>
    /// <returns>The value.</returns>
    public static SseValue FromDouble(double number) => number;

    /// <summary>Converts a text.</summary>
    /// <returns>The value.</returns>
    public static SseValue FromString(string text) => text;

    /// <summary>Converts a dual.</summary>
    /// <returns>The value.</returns>
    public static SseValue FromSseDual(SseDual dual) => dual;

    /// <inheritdoc/>
    public bool Equals(SseValue other) =>
        _number.Equals(other._number) && _text == other._text && _isDual == other._isDual;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is SseValue other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_number, _text, _isDual);

    /// <inheritdoc/>
    public override string ToString() => _isDual
        ? $"{_text} ({_number.ToString(CultureInfo.InvariantCulture)})"
        : _text ?? _number.ToString(CultureInfo.InvariantCulture);

    internal Dual ToDual() => _isDual
        ? new Dual { NumData = _number, StrData = _text }
        : _text is null ? new Dual { NumData = _number } : new Dual { StrData = _text };
}
