namespace Vts.Ctl.Cli;

/// <summary>docs/operations.md: scripts branch on these, so they never change meaning.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
}
