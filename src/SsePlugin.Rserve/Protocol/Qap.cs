using System.Buffers.Binary;

namespace SsePlugin.Rserve.Protocol;

/// <summary>QAP1 constants (Rserve's Rsrv.h) and the length headers shared by parameters and expressions.</summary>
internal static class Qap
{
    public const int MessageHeaderLength = 16;

    public const int CmdLogin = 0x001;
    public const int CmdVoidEval = 0x002;
    public const int CmdEval = 0x003;
    public const int CmdSetSexp = 0x020;
    public const int CmdSetEncoding = 0x082;

    public const int RespOk = 0x10001;
    public const int RespErr = 0x10002;

    // Parameter (DT_*) types.
    public const byte DtString = 4;
    public const byte DtSexp = 10;

    // Expression (XT_*) types.
    public const byte XtNull = 0;
    public const byte XtStr = 3;
    public const byte XtVector = 16;
    public const byte XtSymName = 19;
    public const byte XtListNoTag = 20;
    public const byte XtListTag = 21;
    public const byte XtVectorExp = 26;
    public const byte XtArrayInt = 32;
    public const byte XtArrayDouble = 33;
    public const byte XtArrayStr = 34;
    public const byte XtArrayBool = 36;

    /// <summary>The flag of a header with a 56-bit length (DT_LARGE, XT_LARGE).</summary>
    public const byte Large = 0x40;

    /// <summary>The flag of an expression whose attributes come first (XT_HAS_ATTR).</summary>
    public const byte HasAttributes = 0x80;

    /// <summary>
    /// The first byte of an NA string in XT_ARRAY_STR, and the escape of a string that starts with it.
    /// </summary>
    public const byte NaStringByte = 0xFF;

    /// <summary>Rserve uses the 8-byte header for lengths above this; so do we.</summary>
    private const int MaxSmallLength = 0xFFFFF0;

    /// <summary>The bytes of the header of a parameter or expression of <paramref name="length"/> bytes.</summary>
    public static int HeaderLength(long length) => length > MaxSmallLength ? 8 : 4;

    /// <summary>Rounds a length up to a multiple of 4.</summary>
    public static long Pad4(long length) => (length + 3) & ~3L;

    /// <summary>Writes a header and returns its length.</summary>
    public static int WriteHeader(Span<byte> destination, byte type, long length)
    {
        if (HeaderLength(length) == 4)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination, type | ((uint)length << 8));
            return 4;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)(type | Large) | ((uint)(length & 0xFFFFFF) << 8));
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], (uint)(length >> 24));
        return 8;
    }

    /// <summary>Describes the status of an error reply in words.</summary>
    public static string DescribeStatus(int status) => status switch
    {
        2 or 3 => $"R reported an error (status {status}): the script does not parse.",
        0x41 => "Rserve refused the login: wrong user name or password (ERR_auth_failed).",
        0x42 => "Rserve reported a broken connection (ERR_conn_broken).",
        0x43 => "Rserve does not know the command (ERR_inv_cmd).",
        0x44 => "Rserve refused the command's parameters (ERR_inv_par).",
        0x45 => "R reported an error (ERR_Rerror).",
        0x46 => "Rserve had an I/O error (ERR_IOerror).",
        0x4B => "Rserve refused the message: it is larger than its maxinbuf (ERR_data_overflow).",
        0x4C => "Rserve cannot send the result: it is larger than its maxsendbuf (ERR_object_too_big).",
        0x4D => "Rserve ran out of memory (ERR_out_of_mem).",
        0x50 => "The Rserve session is busy (ERR_session_busy).",
        0x61 => "The command is disabled in Rserve's configuration (ERR_disabled).",
        >= 0x40 and < 0x7F => $"Rserve refused the command (error 0x{status:X2}).",
        _ => $"R reported an error (status {status}).",
    };
}
