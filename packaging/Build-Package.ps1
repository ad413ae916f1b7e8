#!/usr/bin/env pwsh
# Builds artifacts/vtsactors_<version>_amd64.deb (build.ps1 package). Layout of the package:
#   /usr/lib/vtsactors/node/       vts-node, self-contained, ReadyToRun
#   /usr/lib/vtsactors/ctl/        vtsctl, self-contained, ReadyToRun
#   /usr/bin/vtsctl, /usr/bin/vts-node   links to them
#   /lib/systemd/system/vts-node.service
#   /etc/vts/vts-node.hocon        the example configuration (a conffile: an upgrade keeps the site's edits)
#   /usr/share/doc/vtsactors/      README and docs/
# and /var/lib/vts, made by postinst for the vts user.
#
# Self-contained, not framework-dependent: Debian ships no .NET 10 runtime, and a storage server should not need a
# third-party apt repository to run its copy service; the package carries the runtime the tests ran with, and an
# upgrade of the one cannot break the other. The price is size: about 115 MB, 260 MB installed.
param(
    [string]$Configuration = 'Release',
    # Default: from git describe (tags v<major>.<minor>): v0.1 plus 12 commits on commit abc1234 → 0.1.12+gabc1234.
    [string]$Version
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$root = Split-Path $PSScriptRoot

function Invoke-Native([string]$what, [scriptblock]$command) {
    & $command
    if ($LASTEXITCODE -ne 0) { throw "$what failed (exit $LASTEXITCODE)" }
}

function Get-GitVersion {
    $described = git -C $root describe --tags --long --match 'v[0-9]*' 2>$null
    if ($LASTEXITCODE -eq 0 -and $described -match '^v(\d+)\.(\d+)-(\d+)-g([0-9a-f]+)$') {
        return "$($Matches[1]).$($Matches[2]).$($Matches[3])+g$($Matches[4])"
    }
    # No tag in reach (a shallow clone): the commit count still orders builds.
    $count = git -C $root rev-list --count HEAD
    $hash = git -C $root rev-parse --short HEAD
    return "0.0.$count+g$hash"
}

if (-not $Version) { $Version = Get-GitVersion }
if ($Version -notmatch '^(\d+\.\d+\.\d+)') { throw "version '$Version' does not start with MAJOR.MINOR.PATCH" }
$assemblyVersion = $Matches[1]
Write-Host "vtsactors $Version"

$stage = Join-Path $root "artifacts/package/vtsactors_$Version"
if (Test-Path $stage) { Remove-Item -Recurse -Force $stage }
$lib = Join-Path $stage 'usr/lib/vtsactors'
$stamp = @("-p:Version=$assemblyVersion", "-p:InformationalVersion=$Version", "-p:SatelliteResourceLanguages=en")
Invoke-Native 'publish vts-node' {
    dotnet publish "$root/src/Vts.Node" -c $Configuration -r linux-x64 --self-contained true --nologo -v minimal @stamp -o "$lib/node"
}
Invoke-Native 'publish vtsctl' {
    dotnet publish "$root/src/Vts.Ctl" -c $Configuration -r linux-x64 --self-contained true -p:PublishReadyToRun=true --nologo -v minimal @stamp -o "$lib/ctl"
}
Get-ChildItem $lib -Recurse -Filter '*.pdb' | Remove-Item

New-Item -ItemType Directory -Force "$stage/usr/bin", "$stage/lib/systemd/system", "$stage/etc/vts", "$stage/usr/share/doc/vtsactors/docs", "$stage/DEBIAN" | Out-Null
Invoke-Native 'ln vtsctl' { ln -s ../lib/vtsactors/ctl/vtsctl "$stage/usr/bin/vtsctl" }
Invoke-Native 'ln vts-node' { ln -s ../lib/vtsactors/node/vts-node "$stage/usr/bin/vts-node" }
Copy-Item "$PSScriptRoot/vts-node.service" "$stage/lib/systemd/system/"
Copy-Item "$PSScriptRoot/vts-node.hocon" "$stage/etc/vts/"
Copy-Item "$root/README.md" "$stage/usr/share/doc/vtsactors/"
Copy-Item "$root/docs/*.md" "$stage/usr/share/doc/vtsactors/docs/"

$installedKiB = [long]((du -sk --exclude=DEBIAN $stage) -split '\s+')[0]
(Get-Content -Raw "$PSScriptRoot/debian/control").Replace('@VERSION@', $Version).Replace('@SIZE@', "$installedKiB") |
    Set-Content -NoNewline "$stage/DEBIAN/control"
foreach ($file in 'conffiles', 'postinst', 'prerm', 'postrm') { Copy-Item "$PSScriptRoot/debian/$file" "$stage/DEBIAN/" }
Invoke-Native 'chmod' { chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm" }
Invoke-Native 'chmod' { chmod -R u+rwX,go+rX,go-w $stage }

$deb = Join-Path $root "artifacts/vtsactors_$($Version)_amd64.deb"
# gzip: xz took minutes over the two runtimes on 2 cores, for a package that is installed, not mirrored.
Invoke-Native 'dpkg-deb' { dpkg-deb --root-owner-group -Zgzip --build $stage $deb }
Remove-Item -Recurse -Force $stage
Write-Host "package: $deb"
