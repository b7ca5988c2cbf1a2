from walkwithme.cli import main

main()
