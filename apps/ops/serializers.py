"""The RUM beacon's shape, for validation and the OpenAPI schema."""
from rest_framework import serializers


class RumBeaconSerializer(serializers.Serializer):
    frame_rate = serializers.ListField(child=serializers.FloatField(min_value=0, max_value=1000),
                                       required=False, max_length=500)
    long_frames = serializers.ListField(child=serializers.FloatField(min_value=0, max_value=600_000),
                                        required=False, max_length=500)
    send_visible = serializers.ListField(child=serializers.FloatField(min_value=0, max_value=600_000),
                                         required=False, max_length=500)
