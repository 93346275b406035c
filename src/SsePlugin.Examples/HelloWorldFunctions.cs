using System.Globalization;

namespace SsePlugin.Examples;

/// <summary>The functions of Qlik's HelloWorld example app.</summary>
public static class HelloWorldFunctions
{
    /// <summary>Echoes each string.</summary>
    /// <param name="str1">The string.</param>
    /// <returns>The same string.</returns>
    [SseFunction(0, SseFunctionType.Tensor)]
    public static string HelloWorld(string str1) => str1;

    /// <summary>Joins all strings with ", ".</summary>
    /// <param name="str1">The strings.</param>
    /// <returns>The joined string.</returns>
    [SseFunction(1, SseFunctionType.Aggregation)]
    public static string HelloWorldAggr(string[] str1) => string.Join(", ", str1);

    /// <summary>
    /// Appends the local time of the call (ISO 8601, to the microsecond) to each string; Qlik caches the answer.
    /// </summary>
    /// <param name="str1">The string.</param>
    /// <returns>The string and a timestamp.</returns>
    [SseFunction(2, SseFunctionType.Tensor)]
    public static string Cache(string str1) => Stamp(str1);

    /// <summary>Appends the time of the call to each string; Qlik never caches the answer.</summary>
    /// <param name="str1">The string.</param>
    /// <returns>The string and a timestamp.</returns>
    [SseFunction(3, SseFunctionType.Tensor)]
    [NoCache]
    public static string NoCache(string str1) => Stamp(str1);

    /// <summary>
    /// Returns its three string columns as a table, for <c>LOAD ... EXTENSION</c>. As in Qlik's example plugin the
    /// table goes without a description, so Qlik names its fields Field1, Field2 and Field3, which the example app's
    /// load script renames.
    /// </summary>
    /// <param name="col1">The first column.</param>
    /// <param name="col2">The second column.</param>
    /// <param name="col3">The third column.</param>
    /// <returns>The three columns, unnamed.</returns>
    [SseFunction(4, SseFunctionType.Tensor, Name = "EchoTable_3", TableReturnType = SseDataType.String)]
    public static SseTable EchoTable(string[] col1, string[] col2, string[] col3) =>
        new(new SseColumn(string.Empty, col1), new SseColumn(string.Empty, col2), new SseColumn(string.Empty, col3));

    private static string Stamp(string text) =>
        $"{text} {DateTime.Now.ToString("yyyy-MM-ddTHH:mm:ss.ffffff", CultureInfo.InvariantCulture)}";
}
