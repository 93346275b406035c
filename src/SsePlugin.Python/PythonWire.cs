using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using SsePlugin.Server.Scripting;

namespace SsePlugin.Python;

/// <summary>
/// The framing between the host and a call's Python process (see worker.py), little-endian: a JSON header with its
/// length, then columns, numbers as raw float64 and texts as int32 byte lengths followed by their UTF-8 bytes.
/// </summary>
internal static class PythonWire
{
    private const int ChunkBytes = 64 * 1024;

    /// <summary>Writes a call: its header, then each parameter's column.</summary>
    /// <param name="stream">The call's process.</param>
    /// <param name="definition">The script and the shape of the call.</param>
    /// <param name="table">The call's rows.</param>
    /// <param name="memoryBytes">The memory limit of the process; 0 for none.</param>
    /// <param name="processes">The process limit of its account; 0 for none.</param>
    /// <param name="user">The user id the process switches to in the worker's user namespace; 0 for none.</param>
    /// <param name="cancellationToken">Cancels the writing.</param>
    /// <returns>A task that completes when the call is written.</returns>
    public static async Task WriteCallAsync(
        Stream stream,
        ScriptDefinition definition,
        SseTable table,
        long memoryBytes,
        int processes,
        uint user,
        CancellationToken cancellationToken)
    {
        var header = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            json.WriteString("script", definition.Script);
            json.WriteBoolean("aggregation", definition.FunctionType == SseFunctionType.Aggregation);
            json.WriteNumber("returns", (int)definition.ReturnType);
            json.WriteNumber("rows", table.RowCount);
            json.WriteNumber("memory", memoryBytes);
            json.WriteNumber("processes", processes);
            json.WriteNumber("user", user);
            json.WriteStartArray("params");
            foreach (var parameter in definition.Parameters)
            {
                json.WriteStartObject();
                json.WriteString("name", parameter.Name);
                json.WriteNumber("type", (int)parameter.DataType);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer, header.WrittenCount);
            await stream.WriteAsync(buffer.AsMemory(0, 4), cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync(header.WrittenMemory, cancellationToken).ConfigureAwait(false);
            for (var p = 0; p < definition.Parameters.Count; p++)
            {
                var column = table.ColumnArray[p];
                var type = definition.Parameters[p].DataType;
                if (type != SseDataType.String)
                {
                    await WriteAsync(stream, column.NumberArray!, table.RowCount, buffer, cancellationToken)
                        .ConfigureAwait(false);
                }

                if (type != SseDataType.Numeric)
                {
                    await WriteTextsAsync(stream, column.StringArray!, table.RowCount, buffer, cancellationToken)
                        .ConfigureAwait(false);
                }
            }

            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads the process's answer: its status, its header, and for an answer its columns.</summary>
    /// <param name="stream">The call's process.</param>
    /// <param name="cancellationToken">Cancels the reading.</param>
    /// <returns>The answer.</returns>
    /// <exception cref="EndOfStreamException">The process ended before it answered.</exception>
    public static async Task<PythonAnswer> ReadAnswerAsync(Stream stream, CancellationToken cancellationToken)
    {
        var start = new byte[5];
        await stream.ReadExactlyAsync(start, cancellationToken).ConfigureAwait(false);
        var header = new byte[BinaryPrimitives.ReadInt32LittleEndian(start.AsSpan(1))];
        await stream.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
        using var json = JsonDocument.Parse(header);
        var root = json.RootElement;
        var status = (PythonStatus)start[0];
        if (status != PythonStatus.Answer)
        {
            return new PythonAnswer(
                status, root.GetProperty("message").GetString() ?? string.Empty, [], 0, false, string.Empty);
        }

        var rows = root.GetProperty("rows").GetInt32();
        var fields = root.GetProperty("columns");
        var columns = new SseColumn[fields.GetArrayLength()];
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            var index = 0;
            foreach (var field in fields.EnumerateArray())
            {
                var name = field.GetProperty("name").GetString() ?? string.Empty;
                var type = (SseDataType)field.GetProperty("type").GetInt32();
                var numbers = type == SseDataType.String ? null : new double[rows];
                if (numbers is not null)
                {
                    await ReadAsync(stream, numbers, buffer, cancellationToken).ConfigureAwait(false);
                }

                var texts = type == SseDataType.Numeric
                    ? null
                    : await ReadTextsAsync(stream, rows, buffer, cancellationToken).ConfigureAwait(false);
                columns[index++] = new SseColumn(name, type, numbers, texts, rows)
                {
                    Tags =
                    [
                        .. field.GetProperty("tags").EnumerateArray()
                            .Select(tag => tag.GetString() ?? string.Empty),
                    ],
                };
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return new PythonAnswer(
            status,
            string.Empty,
            columns,
            rows,
            root.GetProperty("described").GetBoolean(),
            root.GetProperty("name").GetString() ?? string.Empty);
    }

    // Values of a blittable type, through the buffer a chunk at a time.
    private static async Task WriteAsync<T>(
        Stream stream, T[] values, int count, byte[] buffer, CancellationToken cancellationToken)
        where T : unmanaged
    {
        var size = Marshal.SizeOf<T>();
        var perChunk = ChunkBytes / size;
        for (var start = 0; start < count; start += perChunk)
        {
            var bytes = MemoryMarshal.AsBytes(values.AsSpan(start, Math.Min(perChunk, count - start)));
            bytes.CopyTo(buffer);
            await stream.WriteAsync(buffer.AsMemory(0, bytes.Length), cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task ReadAsync<T>(
        Stream stream, T[] values, byte[] buffer, CancellationToken cancellationToken)
        where T : unmanaged
    {
        var size = Marshal.SizeOf<T>();
        var perChunk = ChunkBytes / size;
        for (var start = 0; start < values.Length; start += perChunk)
        {
            var count = Math.Min(perChunk, values.Length - start);
            await stream.ReadExactlyAsync(buffer.AsMemory(0, count * size), cancellationToken).ConfigureAwait(false);
            MemoryMarshal.Cast<byte, T>(buffer.AsSpan(0, count * size)).CopyTo(values.AsSpan(start, count));
        }
    }

    // Texts as their UTF-8 byte lengths, then their bytes; Qlik's missing text (null) as empty text.
    private static async Task WriteTextsAsync(
        Stream stream, string?[] texts, int count, byte[] buffer, CancellationToken cancellationToken)
    {
        var lengths = ArrayPool<int>.Shared.Rent(Math.Max(count, 1));
        try
        {
            for (var i = 0; i < count; i++)
            {
                lengths[i] = Encoding.UTF8.GetByteCount(texts[i] ?? string.Empty);
            }

            await WriteAsync(stream, lengths, count, buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(lengths);
        }

        var used = 0;
        for (var i = 0; i < count; i++)
        {
            var text = texts[i] ?? string.Empty;
            if (Encoding.UTF8.GetMaxByteCount(text.Length) > buffer.Length - used)
            {
                await stream.WriteAsync(buffer.AsMemory(0, used), cancellationToken).ConfigureAwait(false);
                used = 0;
            }

            if (Encoding.UTF8.GetMaxByteCount(text.Length) > buffer.Length)
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken).ConfigureAwait(false);
                continue;
            }

            used += Encoding.UTF8.GetBytes(text, buffer.AsSpan(used));
        }

        await stream.WriteAsync(buffer.AsMemory(0, used), cancellationToken).ConfigureAwait(false);
    }

    private static async Task<string[]> ReadTextsAsync(
        Stream stream, int rows, byte[] buffer, CancellationToken cancellationToken)
    {
        var lengths = new int[rows];
        await ReadAsync(stream, lengths, buffer, cancellationToken).ConfigureAwait(false);
        long total = 0;
        foreach (var length in lengths)
        {
            total += length;
        }

        var bytes = ArrayPool<byte>.Shared.Rent((int)Math.Max(total, 1));
        try
        {
            await stream.ReadExactlyAsync(bytes.AsMemory(0, (int)total), cancellationToken).ConfigureAwait(false);
            var texts = new string[rows];
            var offset = 0;
            for (var i = 0; i < rows; i++)
            {
                texts[i] = Encoding.UTF8.GetString(bytes, offset, lengths[i]);
                offset += lengths[i];
            }

            return texts;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }
}

/// <summary>What a call's Python process answered.</summary>
/// <param name="Status">An answer, or the kind of failure.</param>
/// <param name="Message">The failure's message: the last line of Python's traceback.</param>
/// <param name="Columns">The answer's columns.</param>
/// <param name="Rows">The number of rows of each column.</param>
/// <param name="Described">Whether the answer is a table to describe (a data frame, or <c>tableDescription</c>).
/// </param>
/// <param name="TableName">The described table's name.</param>
internal sealed record PythonAnswer(
    PythonStatus Status, string Message, SseColumn[] Columns, int Rows, bool Described, string TableName);

/// <summary>How a call's Python process ended the call.</summary>
internal enum PythonStatus : byte
{
    /// <summary>It answered.</summary>
    Answer = 0,

    /// <summary>The script failed, or answered what Qlik cannot take.</summary>
    ScriptError = 1,

    /// <summary>The script ran out of memory.</summary>
    OutOfMemory = 2,

    /// <summary>The process could not be confined to the call's own user id and folders; the script did not run.
    /// </summary>
    NotConfined = 3,
}
