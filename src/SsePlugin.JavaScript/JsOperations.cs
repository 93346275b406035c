using Jint.Native;
using Jint.Runtime;

namespace SsePlugin.JavaScript;

/// <summary>
/// JavaScript's conversions and the <c>Math</c> functions whose results .NET's own differ from, for scripts compiled by
/// <see cref="JsCompiler"/>. Conversions between numbers and text are Jint's own; the rest follows the specification
/// exactly as Jint does, which a differential test against Jint checks value by value.
/// </summary>
internal static class JsOperations
{
    // At and above 2^52 every double is an integer, which Math.round answers unchanged.
    private const double AllIntegers = 4503599627370496;

    /// <summary>A numeric parameter's value in a row.</summary>
    public static double Number(SseColumn[] columns, int column, int row) => columns[column].NumberArray![row];

    /// <summary>A text parameter's value in a row; a missing text is empty, as scripts see it.</summary>
    public static string Text(SseColumn[] columns, int column, int row) =>
        columns[column].StringArray![row] ?? string.Empty;

    /// <summary>JavaScript's ToNumber of a text, by Jint.</summary>
    public static double ToNumber(string text) => TypeConverter.ToNumber(new JsString(text));

    /// <summary>JavaScript's ToString of a number, by Jint.</summary>
    public static string ToText(double number) => TypeConverter.ToString(JsNumber.Create(number));

    /// <summary>JavaScript's ToBoolean of a number: false for 0, -0 and NaN.</summary>
    public static bool ToBoolean(double number) => number != 0 && !double.IsNaN(number);

    /// <summary>The text of a dual answer that is a number: none for NaN, which Qlik shows as null.</summary>
    public static string DualText(double number) => double.IsNaN(number) ? string.Empty : ToText(number);

    /// <summary><c>Math.round</c>: halves round up, towards +∞, and -0.5 to -0.</summary>
    public static double Round(double x)
    {
        if (Math.Abs(x) >= AllIntegers)
        {
            return x;
        }

        // .NET rounds halves to even: x - 0.5 an even integer means x is a half that goes up instead.
        var even = Math.Round(x);
        return even == x - 0.5 ? even + 1 : even;
    }

    /// <summary><c>Math.sign</c>: NaN and both zeros are answered unchanged.</summary>
    public static double Sign(double x) => double.IsNaN(x) || x == 0 ? x : Math.Sign(x);

    /// <summary>
    /// <c>Math.pow</c> and <c>**</c>: .NET's (IEEE 754's) pow but for a NaN exponent and ±1 to an infinite power,
    /// which are NaN in JavaScript.
    /// </summary>
    public static double Pow(double x, double y) =>
        double.IsNaN(y) || (Math.Abs(x) == 1 && double.IsInfinity(y)) ? double.NaN : Math.Pow(x, y);
}
