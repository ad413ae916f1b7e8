namespace Vts.AutoCopy.Tests.Configuration;

/// <summary>Throw-away keys made for the tests with ssh-keygen; they guard nothing.</summary>
public static class TestKeys
{
    public const string Ed25519Private = """
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACCjQ3kofef9mSEN502ion1WgIzhUmRyHg4EXw/2ZeuvvQAAAJDlebs55Xm7
OQAAAAtzc2gtZWQyNTUxOQAAACCjQ3kofef9mSEN502ion1WgIzhUmRyHg4EXw/2ZeuvvQ
AAAEDT5oH7RnMacLeVhiTP30UpZjfcjWI4/SQ5CTY4yYOL+aNDeSh95/2ZIQ3nTaKifVaA
jOFSZHIeDgRfD/Zl66+9AAAACHZ0cy10ZXN0AQIDBAU=
-----END OPENSSH PRIVATE KEY-----
""";
}
