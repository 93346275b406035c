using System.Runtime.InteropServices;
using Jint;
using Jint.Native;

namespace SsePlugin.JavaScript;

/// <summary>
/// Whole columns for a script: <c>args</c> (columns by position) and <c>q</c> (columns by parameter name).
/// </summary>
internal static class JsColumns
{
    /// <summary>Sets the globals <c>args</c> and <c>q</c> and returns <c>q</c>.</summary>
    public static JsObject Load(Engine engine, SseTable table)
    {
        var args = new JsValue[table.ColumnArray.Length];
        var q = new JsObject(engine);
        for (var c = 0; c < args.Length; c++)
        {
            var column = table.ColumnArray[c];
            args[c] = Column(engine, column);
            q.Set(column.Name, args[c]);
        }

        engine.SetValue("args", new JsArray(engine, args));
        engine.SetValue("q", q);
        return q;
    }

    /// <summary>One value: a number, a string, or <c>{ num, str }</c> for a dual.</summary>
    public static JsValue Value(Engine engine, SseColumn column, SseDataType dataType, int row) => dataType switch
    {
        SseDataType.Numeric => JsNumber.Create(column.NumberArray![row]),
        SseDataType.String => new JsString(column.StringArray![row] ?? string.Empty),
        _ => Dual(engine, column.NumberArray![row], column.StringArray![row] ?? string.Empty),
    };

    private static JsValue Column(Engine engine, SseColumn column)
    {
        if (column.DataType == SseDataType.Numeric)
        {
            // Numbers go in as one Float64Array over a copy of their bytes: no per-value conversion.
            var numbers = column.NumberArray.AsSpan(0, column.Count);
            var buffer = engine.Intrinsics.ArrayBuffer.Construct(MemoryMarshal.AsBytes(numbers).ToArray());
            return engine.Intrinsics.Float64Array.Construct(buffer, 0, column.Count);
        }

        var values = new JsValue[column.Count];
        for (var row = 0; row < values.Length; row++)
        {
            values[row] = Value(engine, column, column.DataType, row);
        }

        return new JsArray(engine, values);
    }

    private static JsObject Dual(Engine engine, double number, string text)
    {
        var dual = new JsObject(engine);
        dual.Set("num", JsNumber.Create(number));
        dual.Set("str", new JsString(text));
        return dual;
    }
}
