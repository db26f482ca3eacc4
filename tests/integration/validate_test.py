#!/usr/bin/env python3
"""Placeholder replaced below."""
import sys
sys.exit(0)
