using System.Text;

namespace SsePlugin.Rserve.Protocol;

/// <summary>
/// What Rserve announces in the 32-byte ID string it sends first: protocol, R version and login methods.
/// </summary>
internal sealed class ServerIdentity
{
    private const int Length = 32;

    private ServerIdentity(string protocolVersion, string? rVersion, bool plainLogin, bool cryptLogin)
    {
        ProtocolVersion = protocolVersion;
        RVersion = rVersion;
        PlainLogin = plainLogin;
        CryptLogin = cryptLogin;
    }

    /// <summary>Gets the protocol version, <c>0103</c>.</summary>
    public string ProtocolVersion { get; }

    /// <summary>Gets the R version attribute (<c>R151</c> style) when the server sends one.</summary>
    public string? RVersion { get; }

    /// <summary>Gets whether the server requires a login with a plain-text password (<c>ARpt</c>).</summary>
    public bool PlainLogin { get; }

    /// <summary>Gets whether the server requires a login with a crypt()ed password (<c>ARuc</c>).</summary>
    public bool CryptLogin { get; }

    /// <summary>Reads and checks the ID string.</summary>
    /// <exception cref="RserveException">The peer is not an Rserve speaking QAP1 version 0103.</exception>
    public static async Task<ServerIdentity> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var id = new byte[Length];
        var read = await stream.ReadAtLeastAsync(
            id, Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        var text = Encoding.ASCII.GetString(id, 0, read);
        if (read < Length || !text.StartsWith("Rsrv0103QAP1", StringComparison.Ordinal))
        {
            throw new RserveException(
                $"The server is not an Rserve speaking QAP1 version 0103: it sent {read} bytes \"{Printable(text)}\" "
                + "instead of an ID string like \"Rsrv0103QAP1\".");
        }

        string? rVersion = null;
        bool plain = false, crypt = false;
        for (var i = 12; i < Length; i += 4)
        {
            var attribute = text.Substring(i, 4);
            switch (attribute)
            {
                case "ARpt":
                    plain = true;
                    break;
                case "ARuc":
                    crypt = true;
                    break;
                case ['R', >= '0' and <= '9', ..]:
                    rVersion = attribute;
                    break;
            }
        }

        return new ServerIdentity(text.Substring(4, 4), rVersion, plain, crypt);
    }

    private static string Printable(string text) =>
        string.Concat(text.Select(c => c is >= ' ' and < '\x7F' ? c.ToString() : $"\\x{(int)c:X2}"));
}
