using Jint;
using Jint.Native;

namespace SsePlugin.Server.Scripting.JavaScript;

/// <summary>The global <c>args</c> of a per-row evaluation: one array, its elements overwritten for every row.</summary>
internal sealed class JsRow
{
    private readonly Engine _engine;
    private readonly IReadOnlyList<SseParameter> _parameters;
    private readonly JsArray _args;

    public JsRow(Engine engine, IReadOnlyList<SseParameter> parameters)
    {
        _engine = engine;
        _parameters = parameters;
        _args = new JsArray(engine, (uint)parameters.Count, (uint)parameters.Count);
        engine.SetValue("args", _args);
    }

    /// <summary>Puts a row's values into <c>args</c>: numbers, strings, or <c>{ num, str }</c> for duals.</summary>
    public void Load(SseTable block, int row)
    {
        var columns = block.ColumnArray;
        for (var p = 0; p < _parameters.Count; p++)
        {
            _args[p] = JsColumns.Value(_engine, columns[p], _parameters[p].DataType, row);
        }
    }
}
