"""KubeGrid's Pulumi program; everything it does lives in components/."""

from components.program import main

main()
