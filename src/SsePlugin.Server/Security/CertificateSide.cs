namespace SsePlugin.Server.Security;

/// <summary>
/// One end of the mutual TLS connection and the file names Qlik's certificate guide gives it: the plugin presents
/// <c>sse_server_cert.pem</c>, the Qlik engine <c>sse_client_cert.pem</c>, and both trust their <c>root_cert.pem</c>.
/// </summary>
public sealed class CertificateSide
{
    /// <summary>The root certificate's file name, the same on both sides.</summary>
    public const string RootFile = "root_cert.pem";

    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    private CertificateSide(string name, string folder, string certificateFile, string keyFile, string usage)
    {
        Name = name;
        Folder = folder;
        CertificateFile = certificateFile;
        KeyFile = keyFile;
        Usage = usage;
    }

    /// <summary>Gets the plugin's side (the TLS server): <c>sse_server_cert.pem</c> and <c>sse_server_key.pem</c>.
    /// </summary>
    public static CertificateSide Plugin { get; } =
        new("SsePlugin", "plugin", "sse_server_cert.pem", "sse_server_key.pem", ServerAuthentication);

    /// <summary>Gets the Qlik engine's side (the TLS client): <c>sse_client_cert.pem</c> and <c>sse_client_key.pem</c>.
    /// </summary>
    public static CertificateSide Qlik { get; } =
        new("the Qlik engine", "qlik", "sse_client_cert.pem", "sse_client_key.pem", ClientAuthentication);

    /// <summary>Gets who uses these files, for messages.</summary>
    public string Name { get; }

    /// <summary>Gets the sub-folder <c>certs generate</c> writes this side's files to.</summary>
    public string Folder { get; }

    /// <summary>Gets the certificate's file name.</summary>
    public string CertificateFile { get; }

    /// <summary>Gets the private key's file name.</summary>
    public string KeyFile { get; }

    /// <summary>Gets the extended key usage (an OID) this side's certificate must allow: server or client
    /// authentication.</summary>
    public string Usage { get; }

    /// <summary>Gets the other end of the connection.</summary>
    public CertificateSide Other => this == Plugin ? Qlik : Plugin;

    /// <summary>Gets the three file names, root first.</summary>
    public IReadOnlyList<string> Files => [RootFile, CertificateFile, KeyFile];

    /// <inheritdoc/>
    public override string ToString() => Name;
}
