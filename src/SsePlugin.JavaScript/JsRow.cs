using Jint;
using Jint.Native;
using SsePlugin.Server.Invocation;

namespace SsePlugin.JavaScript;

/// <summary>
/// The global <c>args</c> of a per-row evaluation: a new array for every row, so that a script that changes
/// <c>args</c> or keeps it from one row to the next never sees another row's values in place of this row's.
/// </summary>
internal sealed class JsRow
{
    private readonly Engine _engine;
    private readonly IReadOnlyList<ParameterDefinition> _parameters;

    public JsRow(Engine engine, IReadOnlyList<ParameterDefinition> parameters)
    {
        _engine = engine;
        _parameters = parameters;
    }

    /// <summary>Puts a row's values into <c>args</c>: numbers, strings, or <c>{ num, str }</c> for duals.</summary>
    public void Load(SseTable block, int row)
    {
        var columns = block.ColumnArray;
        var args = new JsValue[_parameters.Count];
        for (var p = 0; p < args.Length; p++)
        {
            args[p] = JsColumns.Value(_engine, columns[p], _parameters[p].DataType, row);
        }

        _engine.SetValue("args", new JsArray(_engine, args));
    }
}
