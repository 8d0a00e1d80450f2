‚
system	Be brief.‚
userWeather?‚5
	assistant*(
call1get_weather{"city": "Zurich"}‚
tool3 C"call1‚
userThanksbobˆ’7[{"type":"function","function":{"name":"get_weather"}}]š{"enable_thinking": false}