using Jint;
using Jint.Native;
using Jint.Runtime;
using SsePlugin.Server.Invocation;

namespace SsePlugin.JavaScript;

/// <summary>Turns what a script returns into answers of the declared type.</summary>
internal static class JsValues
{
    /// <summary>
    /// Stores one answer: numbers stay numbers and anything else is null (NaN); texts are JavaScript's String(value);
    /// a dual answer may be <c>{ num, str }</c>, as dual arguments are.
    /// </summary>
    public static void Store(JsValue value, RowOutput output, int row, SseDataType dataType)
    {
        if (dataType != SseDataType.String)
        {
            output.Numbers[row] = dataType == SseDataType.Dual ? DualNumber(value) : ToNumber(value);
        }

        if (dataType != SseDataType.Numeric)
        {
            output.Strings[row] = dataType == SseDataType.Dual ? DualText(value) : ToText(value);
        }
    }

    /// <summary>
    /// An array is one column of the declared type; an object of equal-length arrays is a table for
    /// <c>LOAD ... EXTENSION</c> (returned as its own description); anything else is one value.
    /// </summary>
    public static (SseTable Table, SseTable? Description) ToTable(JsValue value, SseDataType dataType, string who)
    {
        if (TryReadArray(value, out var values))
        {
            return (new SseTable(Column(string.Empty, values, dataType)), null);
        }

        if (value is JsObject obj && !(dataType == SseDataType.Dual && IsDual(obj)))
        {
            var columns = new List<SseColumn>();
            foreach (var (key, field) in obj.GetOwnProperties())
            {
                var name = key.ToString();
                if (!TryReadArray(field.Value, out var fieldValues))
                {
                    throw new CallFailure(
                        CallFailureKind.InvalidInput,
                        $"{who}: field '{name}' of the returned table is not an array; return an object of "
                        + "equal-length arrays.");
                }

                var type = Array.TrueForAll(fieldValues, v => v.IsNumber() || v.IsNull() || v.IsUndefined())
                    ? SseDataType.Numeric
                    : Array.Exists(fieldValues, v => v is JsObject o && IsDual(o)) ? SseDataType.Dual
                    : SseDataType.String;
                columns.Add(Column(name, fieldValues, type));
            }

            if (columns.Count == 0)
            {
                throw new CallFailure(
                    CallFailureKind.InvalidInput,
                    $"{who}: the returned object has no fields; return a value, an array, or an object of "
                    + "equal-length arrays (a table for LOAD ... EXTENSION).");
            }

            if (columns.Exists(c => c.Count != columns[0].Count))
            {
                throw new CallFailure(
                    CallFailureKind.InvalidInput,
                    $"{who}: the returned table's fields have different lengths "
                    + $"({string.Join(", ", columns.Select(c => $"{c.Name}: {c.Count}"))}); make them equal.");
            }

            var table = new SseTable([.. columns]);
            return (table, table);
        }

        return (new SseTable(Column(string.Empty, [value], dataType)), null);
    }

    private static double ToNumber(JsValue value) => value.IsNumber() ? value.AsNumber() : double.NaN;

    // String(value): a symbol gives its description, which the implicit conversion refuses.
    private static string ToText(JsValue value) => value switch
    {
        _ when value.IsNull() || value.IsUndefined() => string.Empty,
        JsSymbol symbol => symbol.ToString(),
        _ => TypeConverter.ToString(value),
    };

    private static bool IsDual(JsObject value) => value.HasOwnProperty("num") || value.HasOwnProperty("str");

    private static double DualNumber(JsValue value) =>
        value is JsObject dual && IsDual(dual) ? ToNumber(dual.Get("num")) : ToNumber(value);

    // Qlik shows a dual of NaN as its text, so a bare NaN (Qlik's null) gets none.
    private static string DualText(JsValue value) => value switch
    {
        JsObject dual when IsDual(dual) => ToText(dual.Get("str")),
        _ when value.IsNumber() && double.IsNaN(value.AsNumber()) => string.Empty,
        _ => ToText(value),
    };

    private static SseColumn Column(string name, JsValue[] values, SseDataType dataType) => dataType switch
    {
        SseDataType.Numeric => new SseColumn(name, Array.ConvertAll(values, ToNumber)),
        SseDataType.String => new SseColumn(name, Array.ConvertAll(values, ToText)),
        _ => new SseColumn(name, Array.ConvertAll(values, DualNumber), Array.ConvertAll(values, DualText)),
    };

    private static bool TryReadArray(JsValue value, out JsValue[] values)
    {
        switch (value)
        {
            case JsArray array:
                values = array.ToArray();
                return true;
            case JsTypedArray typed:
                values = new JsValue[typed.Length];
                for (var i = 0u; i < typed.Length; i++)
                {
                    values[i] = typed[i];
                }

                return true;
            default:
                values = [];
                return false;
        }
    }
}
