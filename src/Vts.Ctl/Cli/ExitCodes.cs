namespace Vts.Ctl.Cli;

/// <summary>SPEC §4.4: scripts branch on these, so they never change meaning.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
}
