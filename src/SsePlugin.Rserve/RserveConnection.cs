using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using SsePlugin.Rserve.Protocol;

namespace SsePlugin.Rserve;

/// <summary>
/// One connection to Rserve, which gives it its own R process and workspace. Commands run one at a time; after an I/O
/// error, a protocol error, a cancellation or <see cref="Abort"/> the connection is broken and must be replaced.
/// </summary>
public sealed class RserveConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly QapWriter _writer = new();
    private readonly byte[] _replyHeader = new byte[Qap.MessageHeaderLength];
    private int _busy;
    private volatile bool _broken;
    private volatile bool _aborted;
    private volatile bool _disposed;

    private RserveConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>
    /// Gets the protocol version Rserve announced (<c>0103</c>), followed by its R version attribute when it sends one.
    /// </summary>
    public string ServerVersion { get; private set; } = string.Empty;

    /// <summary>Gets whether the connection can no longer be used; open a new one then.</summary>
    public bool IsBroken => _broken;

    /// <summary>
    /// Connects to Rserve, checks its ID string, logs in when the server requires it, and switches strings to UTF-8.
    /// </summary>
    /// <param name="options">Where Rserve is and how to log in.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    /// <returns>The open connection.</returns>
    /// <exception cref="RserveException">Rserve cannot be reached, is not Rserve, or refused the login.</exception>
    public static async Task<RserveConnection> ConnectAsync(
        RserveConnectionOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException(
                "The Rserve client copies numbers in the machine's byte order, which must be little-endian as QAP1 "
                + "is.");
        }

        var where = options.SocketPath ?? $"{options.Host}:{options.Port}";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        var socket = options.SocketPath is null
            ? new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true }
            : new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        RserveConnection? connection = null;
        try
        {
            if (options.SocketPath is { } path)
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), timeout.Token).ConfigureAwait(false);
            }
            else
            {
                await socket.ConnectAsync(options.Host, options.Port, timeout.Token).ConfigureAwait(false);
            }

            connection = new RserveConnection(socket);
            await connection.StartSessionAsync(options, timeout.Token).ConfigureAwait(false);
            return connection;
        }
        catch (Exception e)
        {
            if (connection is null)
            {
                socket.Dispose();
            }
            else
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            switch (e)
            {
                case OperationCanceledException when !cancellationToken.IsCancellationRequested:
                    throw new RserveException(
                        string.Create(
                            CultureInfo.InvariantCulture,
                            $"Rserve at {where} did not answer within {options.ConnectTimeout.TotalSeconds:0.#} s."),
                        null,
                        e);
                case SocketException:
                    throw new RserveException(
                        $"Cannot connect to Rserve at {where}: {e.Message}. Is Rserve running there?", null, e);
                case IOException:
                    throw new RserveException(
                        $"Lost the connection to Rserve at {where} while opening the session: {e.Message}", null, e);
                case RserveException { Status: { } status }:
                    throw new RserveException($"Rserve at {where} refused the session: {e.Message}", status, e);
                default:
                    throw;
            }
        }
    }

    /// <summary>Evaluates a script and discards its value.</summary>
    /// <param name="script">R code; several lines are fine.</param>
    /// <param name="cancellationToken">Cancels the evaluation by breaking the connection.</param>
    /// <returns>A task that completes when R has evaluated the script.</returns>
    /// <exception cref="RserveException">R reported an error (evaluate <c>geterrmessage()</c> for its text) or the
    /// connection failed.</exception>
    public Task VoidEvalAsync(string script, CancellationToken cancellationToken = default) =>
        ExecuteAsync(Qap.CmdVoidEval, script, null, wantResult: false, cancellationToken);

    /// <summary>Evaluates a script and returns the value of its last expression.</summary>
    /// <param name="script">R code; several lines are fine.</param>
    /// <param name="cancellationToken">Cancels the evaluation by breaking the connection.</param>
    /// <returns>The decoded value; <see cref="RUnsupported"/> for kinds of values the client does not decode.</returns>
    /// <exception cref="RserveException">R reported an error (evaluate <c>geterrmessage()</c> for its text) or the
    /// connection failed.</exception>
    public async Task<RValue> EvalAsync(string script, CancellationToken cancellationToken = default) =>
        (await ExecuteAsync(Qap.CmdEval, script, null, wantResult: true, cancellationToken).ConfigureAwait(false))!;

    /// <summary>Assigns a value to a variable in the global environment of this connection's R session.</summary>
    /// <param name="symbol">The variable's name.</param>
    /// <param name="value">The value; only the first <see cref="RValue.Length"/> elements of each vector are
    /// sent.</param>
    /// <param name="cancellationToken">Cancels the assignment by breaking the connection.</param>
    /// <returns>A task that completes when R has the value.</returns>
    /// <exception cref="ArgumentException">The value cannot be sent (a NUL in a string, a list that contains itself);
    /// the connection stays usable.</exception>
    /// <exception cref="NotSupportedException">The value holds an <see cref="RUnsupported"/>; the connection stays
    /// usable.</exception>
    public Task AssignAsync(string symbol, RValue value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(symbol);
        ArgumentNullException.ThrowIfNull(value);
        return ExecuteAsync(Qap.CmdSetSexp, symbol, value, wantResult: false, cancellationToken);
    }

    /// <summary>Closes the socket at once: a pending command fails, and the connection is broken.</summary>
    public void Abort()
    {
        _aborted = true;
        _broken = true;
        _socket.Dispose();
    }

    /// <summary>
    /// Closes the connection; the server ends this connection's R process (the server itself keeps running).
    /// </summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        _disposed = true;
        _broken = true;
        _stream.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task StartSessionAsync(RserveConnectionOptions options, CancellationToken cancellationToken)
    {
        var identity = await ServerIdentity.ReadAsync(_stream, cancellationToken).ConfigureAwait(false);
        ServerVersion = identity.RVersion is null
            ? identity.ProtocolVersion
            : $"{identity.ProtocolVersion} {identity.RVersion}";
        if (identity.PlainLogin || identity.CryptLogin)
        {
            if (options.User is null)
            {
                throw new RserveException("Rserve requires a login, but no user name is configured.");
            }

            if (!identity.PlainLogin)
            {
                throw new RserveException(
                    "Rserve offers only crypt() password logins, which this client cannot do; enable plain-text "
                    + "logins with 'plaintext enable' in Rserve's configuration.");
            }

            await ExecuteAsync(
                Qap.CmdLogin, $"{options.User}\n{options.Password}", null, wantResult: false,
                cancellationToken).ConfigureAwait(false);
        }

        await ExecuteAsync(
            Qap.CmdSetEncoding, "utf8", null, wantResult: false, cancellationToken).ConfigureAwait(false);
    }

    private async Task<RValue?> ExecuteAsync(
        int command, string text, RValue? value, bool wantResult, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            throw new InvalidOperationException(
                "Another command is running on this Rserve connection; commands on one connection must run one after "
                + "another.");
        }

        try
        {
            if (_broken)
            {
                throw new RserveException(
                    "The connection to Rserve is broken (an earlier command failed, was cancelled or aborted); open "
                    + "a new one.");
            }

            cancellationToken.ThrowIfCancellationRequested();
            var length = _writer.Measure(text, value);
            var (reply, result) = await ExchangeAsync(
                command, text, value, length, wantResult, cancellationToken).ConfigureAwait(false);
            if ((reply & 0xFFFFFF) == Qap.RespOk)
            {
                return result;
            }

            var status = (reply >> 24) & 127;
            throw new RserveException(Qap.DescribeStatus(status), status);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    // Sends one message and reads its reply; any failure here leaves the stream out of step, so it breaks the
    // connection.
    private async Task<(int Reply, RValue? Result)> ExchangeAsync(
        int command, string text, RValue? value, long length, bool wantResult, CancellationToken cancellationToken)
    {
        var abortOnCancel = cancellationToken.UnsafeRegister(static state => ((RserveConnection)state!).Abort(), this);
        try
        {
            await _writer.SendAsync(_stream, command, text, value, length, cancellationToken).ConfigureAwait(false);
            return await ReceiveAsync(wantResult, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _broken = true;
            _stream.Dispose();
            if (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(
                    "The Rserve command was cancelled; the connection is closed.", e, cancellationToken);
            }

            switch (e)
            {
                case RserveException:
                    throw;
                case EndOfStreamException when !_aborted:
                    throw new RserveException("Rserve closed the connection.", null, e);
                default:
                    throw new RserveException(
                        _aborted
                            ? "The connection to Rserve was aborted."
                            : $"Lost the connection to Rserve: {e.Message}",
                        null,
                        e);
            }
        }
        finally
        {
            await abortOnCancel.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<(int Reply, RValue? Result)> ReceiveAsync(bool wantResult, CancellationToken cancellationToken)
    {
        await _stream.ReadExactlyAsync(_replyHeader, cancellationToken).ConfigureAwait(false);
        var reply = BinaryPrimitives.ReadInt32LittleEndian(_replyHeader);
        var length = BinaryPrimitives.ReadUInt32LittleEndian(_replyHeader.AsSpan(4)) | (
            (long)BinaryPrimitives.ReadUInt32LittleEndian(_replyHeader.AsSpan(12)) << 32);
        var kind = reply & 0xFFFFFF;
        if (kind is not (Qap.RespOk or Qap.RespErr))
        {
            throw new RserveException($"Rserve sent an unexpected message 0x{reply:X8} instead of a reply.");
        }

        if (length > Array.MaxLength)
        {
            throw new RserveException($"Rserve sent a reply of {length} bytes, more than this client can hold.");
        }

        var payload = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            await _stream.ReadExactlyAsync(payload.AsMemory(0, (int)length), cancellationToken).ConfigureAwait(false);
            var result = wantResult && kind == Qap.RespOk ? QapReader.ReadResult(payload.AsSpan(0, (int)length)) : null;
            return (reply, result);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(payload);
        }
    }
}
